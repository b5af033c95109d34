"""The README and docs/ as a reader meets them: links that lead somewhere, every setting listed,
and the curl examples running as shown against a live server."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from manage import load_demo_data
from settings import Settings
from tests.utils.databases import ROOT, copy_sqlite
from tests.utils.needs import needed
from tests.utils.servers import uvicorn_servers
from tests.utils.settings import make_settings

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
CONFIGURATION = ROOT / "docs" / "configuration.md"
# The host and port the README's examples use, as `make run` serves them.
README_SERVER = "http://localhost:8000"

FENCE = re.compile(r"(?ms)^```.*?^```")
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"(?m)^#{1,6} +(.+?) *#*$")


def prose(text: str) -> str:
    """The text without code blocks and code spans, where a `[x](y)` is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {github_anchor(match) for match in HEADING.findall(text)}


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda page: page.name)
def test_relative_links_lead_to_existing_files_and_headings(page: Path) -> None:
    assert broken_links(page) == []


def test_link_checker_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Title\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-section) [gone](missing.md) [no heading](other.md#nowhere)\n"
        "`[code](not-a-link.md)`\n```\n[block](not-a-link-either.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nowhere: no heading #nowhere in other.md",
    ]


def documented_settings() -> list[str]:
    """The names in the first column of configuration.md's tables, one or more per row."""
    rows = re.findall(r"(?m)^\| *([^|]+?) *\|", CONFIGURATION.read_text())
    return [name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)]


def test_every_setting_is_documented_once_and_nothing_else() -> None:
    settings = sorted(name.upper() for name in Settings.model_fields)
    documented = documented_settings()
    assert sorted(set(documented)) == settings
    assert len(documented) == len(set(documented)), "a setting is listed twice"


def readme_curl_block() -> str:
    section = README.read_text().split("## Try it with curl", 1)[1]
    block = re.search(r"(?ms)^```bash\n(.*?)^```", section)
    assert block is not None, "the curl section has no bash block"
    return block.group(1)


def test_readme_curl_examples_run_as_shown(sqlite_template: Path, tmp_path: Path) -> None:
    """The block runs as a reader would paste it, against `make run`'s demo data; only the
    address differs. Each curl must succeed (`--fail-with-body`) and no GraphQL error come back."""
    if shutil.which("curl") is None or shutil.which("python3") is None:
        needed("curl and python3 are needed to run the README's curl examples")
    database = copy_sqlite(sqlite_template, tmp_path / "readme.db")
    asyncio.run(load_demo_data(make_settings(database)))
    with uvicorn_servers(database, tmp_path / "uvicorn.log") as (server,):
        script = readme_curl_block().replace(README_SERVER, server.base_url)
        # The README's own text, run by the reader's bash; curl made strict, nothing else changed.
        strict = 'curl() { command curl --silent --show-error --fail-with-body "$@"; }\n'
        result = subprocess.run(  # noqa: S603 - the README is ours, run as a reader runs it
            ["bash", "-c", "set -euo pipefail\n" + strict + script],  # noqa: S607 - as a reader
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    output = result.stdout
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"email":"new.trader@example.com"' in output  # registered
    assert "set-cookie: access_token=" in output.lower()  # signed in
    assert '"me":{"id":1,"name":"Demo Trader","email":"demo@example.com"}' in output
    assert '"addTrades":[{"id":' in output
    assert '{"data":{"me":{"name":"Demo Trader"}}}' in output  # the bearer token's query
    assert '"errors"' not in output


@pytest.mark.parametrize(
    ("heading", "count"), [("## Apollo Client", 3), ("## Persisted queries", 1)]
)
def test_the_readmes_apollo_blocks_are_excerpts_of_the_example_files(
    heading: str, count: int
) -> None:
    """The README shows the examples the tests run, so it cannot drift from them."""
    section = README.read_text().split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"(?ms)^```js\n(.*?)^```", section)
    examples = ROOT / "examples" / "apollo"
    sources = [p.read_text() for p in examples.rglob("*.mjs") if "node_modules" not in p.parts]
    assert len(blocks) == count
    for block in blocks:
        assert any(block in source for source in sources), block
