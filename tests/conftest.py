from __future__ import annotations

import os
import tempfile
import zlib
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

import fluxpanel
from fluxpanel.testing import ReferenceServer, solid_png

#: Backoff that keeps retry tests fast while exercising the same code.
FAST_RETRY = fluxpanel.RetryPolicy(max_retries=3, base=0.01, cap=0.05)


ROOT = Path(__file__).resolve().parent.parent
#: What a test run may write inside the checkout: the set-up's own folders.
OWN = {".git", ".venv", "node_modules", "__pycache__", ".ruff_cache", "site"}
BUNDLE = ROOT / "src" / "fluxpanel" / "static"


def pytest_configure(config):
    # Results the tests cache go to a throwaway folder (kernels started by the
    # tests inherit it), never to the user's cache.
    os.environ["FLUXPANEL_CACHE_DIR"] = tempfile.mkdtemp(prefix="fluxpanel-test-cache-")
    # Hypothesis keeps its examples (and what else it stores) outside the checkout too.
    folder = tempfile.mkdtemp(prefix="fluxpanel-hypothesis-")
    set_hypothesis_home_dir(folder)
    settings.register_profile("fluxpanel", database=DirectoryBasedExampleDatabase(folder))
    settings.load_profile("fluxpanel")


def tree(root: Path = ROOT) -> dict[str, int]:
    """Every file under ``root`` but the set-up's own folders, with its size."""
    found: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in OWN and Path(folder, d) != BUNDLE]
        for name in files:
            path = Path(folder, name)
            found[str(path.relative_to(root))] = path.lstat().st_size
    return found


def left_behind(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """The files a run added to the checkout or changed the size of."""
    return sorted(p for p, size in after.items() if before.get(p) != size)


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # once, in the process that hands out tests
        session.config._tree_before = tree()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_tree_before", None)
    if before is None:
        return
    stray = left_behind(before, tree())
    if stray:
        shown = ", ".join(stray[:10]) + (" ..." if len(stray) > 10 else "")
        session.config.get_terminal_writer().line(
            f"FAILED: the test run wrote {len(stray)} file(s) into the checkout: {shown}",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path_factory, monkeypatch):
    """Each test works in a folder of its own, outside the checkout: what it
    writes beside "the notebook" (fluxpanel-inputs/, exports) lands there."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """Tests never see a developer's real keys."""
    from fluxpanel.providers import PROVIDERS

    for name in {"FLUX_API_URL", *(c.key_env for c in PROVIDERS.values() if c.key_env)}:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend():
    return "asyncio"


class _Quick:
    """Hosts' adapters polling fast, for tests against their fakes."""

    poll_first, poll_growth, poll_max = 0.01, 1.5, 0.05


def quick(cls):
    """``cls`` (a hosted provider) polling from 10 ms to 50 ms."""
    return type(f"Quick{cls.__name__}", (_Quick, cls), {})


def run_snippet(code: str, cwd, **env: str) -> None:
    """Run a generation's snippet in a fresh Python, as a reader would, with
    ``env`` added (a key); fails the test with its error output if it fails."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def small_image(request, index):
    """A distinct small PNG per request and index (fast to make and check)."""
    c = zlib.crc32(f"{request.seed}:{index}".encode())
    return solid_png(32, 32, (c & 255, (c >> 8) & 255, (c >> 16) & 255))


@pytest.fixture
def server():
    with ReferenceServer(image_factory=small_image) as s:
        yield s


@pytest.fixture
def client(server):
    # No cache: these tests count what reaches the server (the cache has its own tests).
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, retry=FAST_RETRY, cache=False
    ) as c:
        yield c
