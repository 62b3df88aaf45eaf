"""MkDocs hooks: the site's pages are made from the README's own sections,
the model x host table from the capability tables, and the screenshots from
the browser tests, so nothing is written twice and nothing drifts."""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

from fluxpanel.testing import artifacts_dir

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = artifacts_dir() / "screenshots"
#: Where the README's links point on the site.
LINKS = {
    "docs/site/reliability.md": "reliability.md",
    "benchmarks/README.md": "performance.md",
    "docs/site/api-contract.md": "api-contract.md",
    "docs/site/architecture.md": "architecture.md",
}


def readme_section(heading: str) -> str:
    """A section of the README: from ``heading`` to the next heading of the
    same or a higher level; ``intro`` is the text before the first ``##``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    if heading == "intro":
        body = text.split("\n## ", 1)[0].split("\n", 1)[1]
    else:
        level = len(heading) - len(heading.lstrip("#"))
        start = text.index(heading + "\n")
        rest = text[start:]
        stop = re.search(rf"\n#{{1,{level}}} ", rest[len(heading) :])
        body = rest[: len(heading) + stop.start()] if stop else rest
    for old, new in LINKS.items():
        body = body.replace(f"]({old})", f"]({new})")
    return body.strip() + "\n"


def _screenshot(match: re.Match[str]) -> str:
    name, alt = match.group(1).strip(), match.group(2).strip()
    if (SCREENSHOTS / f"{name}.png").exists():
        return f"![{alt}](screenshots/{name}.png)"
    return f"*(A screenshot of {alt.lower()} appears here once `make test` has run.)*"


def on_files(files, config):
    """Add the browser tests' screenshots to the site (the notebooks are in
    it through the ``docs/site/notebooks`` link, for mkdocs-jupyter)."""
    site = config["site_dir"]
    if SCREENSHOTS.exists():
        for shot in sorted(SCREENSHOTS.glob("*.png")):
            files.append(File(f"screenshots/{shot.name}", str(SCREENSHOTS.parent), site, False))
    return files


def on_page_markdown(markdown, page, config, files):
    markdown = re.sub(r"<!-- readme: (.+?) -->", lambda m: readme_section(m.group(1)), markdown)
    markdown = re.sub(
        r"<!-- include: (.+?) -->",
        lambda m: (ROOT / m.group(1)).read_text(encoding="utf-8"),
        markdown,
    )
    markdown = re.sub(r"<!-- screenshot: (.+?) \| (.+?) -->", _screenshot, markdown)
    return markdown
