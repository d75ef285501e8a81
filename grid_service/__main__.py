from grid_service.cli import main

main()
