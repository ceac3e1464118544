from kustosz.cli import main

main()
