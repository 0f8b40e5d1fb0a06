"""The command line's two consoles: results on stdout, progress and messages on stderr."""

from rich.console import Console

err = Console(stderr=True)
out = Console()
