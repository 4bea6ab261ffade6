from servers.workers.math.server import main

main()
