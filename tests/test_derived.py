"""Derived files made for a remote backend live in the temporary directory: killed servers leave none behind."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from repression_kg.derived import temporary_path


def test_files_of_dead_processes_are_removed_live_ones_kept():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        tmp = Path(tempfile.gettempdir())
        orphan = tmp / f"kzr-{dead.stdout.strip()}-abc123-search.sqlite"
        kept = tmp / f"kzr-{alive.pid}-abc123-facets.sqlite"
        for path in (orphan, kept):
            path.write_bytes(b"")
        fresh = temporary_path("search.sqlite")
        assert not orphan.exists() and kept.exists()
        assert fresh.name.startswith(f"kzr-{os.getpid()}-") and not fresh.exists()
    finally:
        alive.kill()
        alive.wait()
        kept.unlink(missing_ok=True)
