from echelon.servers.workers.math.server import main

main()
