"""Print a stored `goldenthread eval alignment --json` result as the readable table, e.g.

    .venv/bin/python -m evals.show evals/results/dev.json

(`make eval` writes those files and calls this.)
"""

import json
import sys
from pathlib import Path

from evals.runner import table

if __name__ == "__main__":
    for path in sys.argv[1:]:
        print(f"# {path}")
        print(table(json.loads(Path(path).read_text())))
