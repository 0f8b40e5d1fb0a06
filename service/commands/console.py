"""The command line's two consoles: results on stdout, progress and messages on stderr.

Soft wrap: a long line stays one line when the output is a file or a pipe (rich would cut it at
80 columns there), so logs can be searched and results parsed line by line. For the same
reason usage errors are drawn in boxes only on a terminal (`RICH_ON_A_TERMINAL`).
"""

import sys
from typing import Literal

from rich.console import Console

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
RICH_ON_A_TERMINAL: Literal["rich"] | None = "rich" if sys.stderr.isatty() else None
