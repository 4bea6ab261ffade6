from servers.workers.sql.server import main

main()
