"""The example queries of queries/ for the query UI: each file's header says its title and description."""
from __future__ import annotations

from pathlib import Path

HEADER_KEYS = ("title", "description")


def examples(queries_dir) -> list[dict]:
    """Each queries/*.rq, in file order, as {name, title, description, query}; the query keeps its header."""
    found = []
    for path in sorted(Path(queries_dir).glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        header = read_header(text)
        found.append({"name": path.stem, "title": header.get("title") or path.stem,
                      "description": header.get("description", ""), "query": text})
    return found


def read_header(text: str) -> dict[str, str]:
    """The `# key: value` lines that open a query file (only the keys of HEADER_KEYS)."""
    header = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line.lstrip("# ").partition(":")
        if sep and key.strip() in HEADER_KEYS:
            header[key.strip()] = value.strip()
    return header
