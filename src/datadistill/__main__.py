"""`python -m datadistill` runs the CLI."""
from .cli.main import main

main()
