from opmetrics.cli import main

main()
