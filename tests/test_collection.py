"""Collecting the tests starts no database: the run's own is set up by a fixture, afterwards.

A module-level schema load once ran the app's startup at collection, which started the
embedded PostgreSQL in the user's data directory and left it running after the tests; a later
`goldenthread demo` from another checkout then attached to a server whose files were gone.
"""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, embedded_env


def test_collecting_every_test_module_starts_no_embedded_database(tmp_path: Path) -> None:
    env = embedded_env(tmp_path)
    # Each module imported as collection imports it; then: did anything resolve the database?
    code = (
        "import importlib, os, pathlib\n"
        "from alignment import db\n"
        "for p in sorted(pathlib.Path('tests').rglob('test_*.py')):\n"
        "    importlib.import_module('.'.join(p.with_suffix('').parts))\n"
        "data = pathlib.Path(os.environ['GOLDENTHREAD_DATA_DIR'])\n"
        "print(db.resolve_database.cache_info().currsize, (data / 'pgdata').exists())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0", "False"], "importing a test module resolved the database"
