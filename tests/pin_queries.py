"""Write queries/expected/*.csv from a built store: run after an intended change of the data,
then read the diff of queries/expected/ before committing it.

    python tests/pin_queries.py [BUILD_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from repression_kg.query import format_result, run  # noqa: E402
from repression_kg.store import open_read_only  # noqa: E402


def main(build_dir: str = "build") -> None:
    store = open_read_only(Path(build_dir))
    for query in sorted((ROOT / "queries").glob("*.rq")):
        answer = format_result(run(store, query.read_text(encoding="utf-8")), "csv")
        (ROOT / "queries" / "expected" / f"{query.stem}.csv").write_text(answer, encoding="utf-8")
        print(f"pinned {query.stem}: {answer.count(chr(10)) - 1} rows")


if __name__ == "__main__":
    main(*sys.argv[1:])
