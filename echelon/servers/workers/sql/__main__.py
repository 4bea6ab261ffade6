from echelon.servers.workers.sql.server import main

main()
