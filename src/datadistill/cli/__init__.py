"""The datadistill command line (typer)."""
