"""The Markdown docs: every relative link resolves inside the repository, and the README stays a landing page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

README_MAX_LINES = 300

# [text](target) or [text](target "title"); images ![alt](target) match too. The text may hold `code` and
# nested brackets one level deep, e.g. [`--preset` [1]](x.md).
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
EXTERNAL = ("http://", "https://", "mailto:")


def markdown_files() -> list[Path]:
    results = REPO / "benchmarks" / "results"
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted(results.glob("*.md"))]
    return [f for f in files if f.is_file()]


def relative_links(text: str) -> list[tuple[int, str]]:
    """(line number, target without #anchor) of every relative link outside code blocks and inline code."""
    links, in_fence = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for target in LINK.findall(INLINE_CODE.sub("", line)):
            if target.startswith(EXTERNAL) or target.startswith("#"):
                continue
            links.append((number, target.split("#", 1)[0]))
    return links


def test_the_docs_checked_include_the_readme_and_the_docs_folder():
    names = {f.relative_to(REPO).as_posix() for f in markdown_files()}
    assert "README.md" in names
    assert any(name.startswith("docs/") for name in names)


def test_link_parser_skips_external_links_anchors_and_code():
    text = "\n".join(
        [
            "[a](docs/a.md) [b](https://x.org/b.md) [c](#top) [d](mailto:x@y.z)",
            "[e](../benchmarks/results/SPEED.md#speed) `[f](not-a-link.md)`",
            "```",
            "[g](inside-a-fence.md)",
            "```",
            '[`code` text](docs/h.md "title")',
        ]
    )
    assert relative_links(text) == [(1, "docs/a.md"), (2, "../benchmarks/results/SPEED.md"), (6, "docs/h.md")]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_points_to_a_file_or_folder_in_the_repository(path: Path):
    broken = []
    for number, target in relative_links(path.read_text(encoding="utf-8")):
        resolved = (path.parent / target).resolve()
        if not resolved.exists():
            broken.append(f"line {number}: {target} (no such file or folder)")
        elif not resolved.is_relative_to(REPO):
            broken.append(f"line {number}: {target} (outside the repository)")
    assert not broken, f"{path.relative_to(REPO)} has broken links:\n" + "\n".join(broken)


def test_readme_is_a_landing_page_of_at_most_300_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move details to docs/"
