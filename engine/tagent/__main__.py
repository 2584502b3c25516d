from tagent.cli.main import main

main()
