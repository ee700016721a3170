from mockattr.cli import main

main()
