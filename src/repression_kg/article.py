"""The source article as text: sections, paragraphs, pages, and where a quote stands.

The article is not part of this repository; its path comes from the environment variable
KZR_ARTICLE or, by default, ../shared/seeds/000_80e7266c6232bb90.txt beside the checkout.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_ARTICLE = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "000_80e7266c6232bb90.txt"

HEADINGS = {"Introduction", "Experimental", "Results and Discussion", "Conclusion"}
ABSTRACT_KK = "Abstract (Kazakh)"
ABSTRACT_RU = "Abstract (Russian)"
PAGE_MARK = re.compile(r"^(?:Серия «История\. Философия»\. №4 \(104\)/2021 (\d+)|(\d+) Вестник Карагандинского университета)\s*$")
TABLE_START = re.compile(r"^T a b l e\s+1")
TABLE_END = re.compile(r"^Total \d")


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of the article with its locator."""

    section: str
    number: int  # 1-based within its section
    page: str | None  # printed page number where the text shows the paragraph starts on it
    text: str

    @property
    def locator(self) -> str:
        return f"{self.section}, para. {self.number}"


def article_path() -> Path:
    """Where the article text is read from."""
    return Path(os.environ.get("KZR_ARTICLE", DEFAULT_ARTICLE))


def normalise(text: str) -> str:
    """Fold the article's layout away: line-break hyphens, hyphens, quotes, white space."""
    text = re.sub(r"-\s*\n\s*", "", text)  # "di-\nrections" -> "directions"
    text = text.replace("-", "").replace("—", "").replace("–", "")
    text = re.sub(r"[«»“”\"„]", '"', text).replace("’", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


def _starts_paragraph(line: str, previous: str | None) -> bool:
    """A page break in the extracted text: an indented line after a finished sentence."""
    return (
        previous is not None
        and line.startswith(" ")
        and line.strip()[:1].isupper()
        and previous.rstrip().endswith(".")
    )


def _blocks(lines: list[str]):
    """Yield (first_line_index, lines) blocks separated by blank lines or page breaks."""
    block: list[str] = []
    start = 0
    for i, line in enumerate(lines):
        if block and _starts_paragraph(line, block[-1]):
            yield start, block
            block = []
        if line.strip():
            if not block:
                start = i
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


@lru_cache(maxsize=4)
def paragraphs(path: str | None = None) -> tuple[Paragraph, ...]:
    """Split the article into paragraphs with section, number and page."""
    lines = Path(path or article_path()).read_text(encoding="utf-8").splitlines()
    section, pending_page = "Front matter", None
    counts: dict[str, int] = {}
    result: list[Paragraph] = []
    in_table = False

    def add(text_lines: list[str]) -> None:
        nonlocal pending_page
        counts[section] = counts.get(section, 0) + 1
        result.append(Paragraph(section, counts[section], pending_page, "\n".join(text_lines)))
        pending_page = None

    for _, block in _blocks(lines):
        first = block[0].strip()
        mark = PAGE_MARK.match(first)
        if mark:
            pending_page = mark.group(1) or mark.group(2)
            continue
        if first == "Z.G. Saktaganova" and len(block) == 1:
            continue  # running head
        if first in HEADINGS:
            section = first
            continue
        if first.startswith("To the question about the stages of political repression in"):
            section = "Abstract"
            continue
        if first.startswith("1920–1980 жж."):
            section = ABSTRACT_KK
            continue
        if first.startswith("К вопросу об этапах"):
            section = ABSTRACT_RU
            continue
        if first == "З.Г. Сактаганова" or first.startswith("To the question about the stages of political…"):
            continue
        if TABLE_START.match(first):
            in_table = True
        if in_table:
            for j, ln in enumerate(block):
                if TABLE_END.match(ln.strip()):
                    in_table = False
                    tail = block[j + 1:]
                    if tail:
                        add(tail)
                    break
            continue
        if section == "Abstract" and first.endswith("Introduction"):
            continue
        body = [ln for ln in block if ln.strip() not in HEADINGS]
        add(body)
        for ln in block:
            if ln.strip() in HEADINGS:
                section = ln.strip()
    return tuple(result)


def locate(quote: str, path: str | None = None) -> list[Paragraph]:
    """The paragraphs in which the quote stands (layout folded away)."""
    needle = normalise(quote)
    return [p for p in paragraphs(path) if needle in normalise(p.text)]


def table_text(path: str | None = None) -> str:
    """The text of Table 1 as printed."""
    text = Path(path or article_path()).read_text(encoding="utf-8")
    start = text.index("T a b l e")
    end = text.index("\n", text.index("Total 1925"))
    return text[start:end]


def main(argv: list[str] | None = None) -> int:
    """python -m repression_kg.article ["quote"]: list paragraphs, or locate a quote."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if not args:
        for p in paragraphs():
            print(f"[{p.locator}{', p. ' + p.page if p.page else ''}] {p.text[:90]!r}")
        return 0
    found = locate(" ".join(args))
    for p in found:
        print(f"{p.locator}{' (p. ' + p.page + ')' if p.page else ''}")
    return 0 if len(found) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
