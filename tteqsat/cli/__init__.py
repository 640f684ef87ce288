"""The `tteqsat` command line: `main` dispatches to optimize / explain (cli.main), rules (cli.rules) and
sweep (cli.sweep)."""

from tteqsat.cli.main import main

__all__ = ["main"]
