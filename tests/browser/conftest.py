"""Real-browser tests: JupyterLab (and Notebook 7) on a free loopback port,
driven by Playwright in Debian's Chromium. Screenshots of what the tests saw
go to the screenshots folder of fluxpanel.testing.artifacts_dir()."""

from __future__ import annotations

import ast
import json
import os
import queue
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from fluxpanel.testing import artifacts_dir

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = artifacts_dir() / "screenshots"
CHROMIUM = os.environ.get("FLUXPANEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServer:
    """A Jupyter server (JupyterLab and Notebook 7 front ends) in a temp folder."""

    def __init__(self, base: Path) -> None:
        self.root = base / "notebooks"
        self.runtime = base / "runtime"
        self.root.mkdir()
        self.runtime.mkdir()
        settings = base / "lab-settings"
        notif = settings / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True)
        # No news or update checks: this machine has no internet.
        (notif / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False})
        )
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_", "JUPYTER"))}
        env.update(
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            JUPYTER_CONFIG_DIR=str(base / "config"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
            IPYTHONDIR=str(base / "ipython"),
            PYTHONWARNINGS="ignore",
        )
        self.log = open(base / "jupyter.log", "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root}",
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.news_url=",
                "--LabApp.extension_manager=readonly",  # no look-ups on a registry
                "--allow-root",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "JupyterLab did not start:\n" + (base / "jupyter.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.3)

    def api(self, path: str):
        with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=10) as r:
            return json.load(r)

    def write_notebook(self, name: str, cells: list[str]) -> Path:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        path = self.root / name
        nbformat.write(nb, path)
        return path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: run 'make test' (it installs it)")
    server = JupyterServer(tmp_path_factory.mktemp("jupyter"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API runs an event loop on this thread
    # while it is open, which must be gone before other tests use asyncio.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)
    except Exception:  # a crashed page still lets the test report
        pass
    context.close()


class Lab:
    """One notebook open in JupyterLab, with a kernel client on the same kernel."""

    def __init__(self, server: JupyterServer, page, name: str, app: str = "lab") -> None:
        self.server, self.page, self.name = server, page, name
        path = f"/lab/tree/{name}?reset&" if app == "lab" else f"/notebooks/{name}?"
        page.goto(f"{server.url}{path}token={server.token}")
        #: The notebook on show (other tabs' notebooks are hidden, not removed).
        self.notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
        self.notebook.locator(".jp-Cell").first.wait_for(timeout=60_000)
        self._kc = None
        self.wait_idle()

    # -- the front end ------------------------------------------------------------------
    def command(self, name: str, args: dict | None = None) -> None:
        self.page.evaluate(
            "([n, a]) => window.jupyterapp.commands.execute(n, a)", [name, args or {}]
        )

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sessions = [
                s for s in self.server.api("/api/sessions") if s["path"].endswith(self.name)
            ]
            if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
                return
            time.sleep(0.2)
        raise TimeoutError("the kernel did not become idle")

    def run_cell(self, index: int) -> None:
        """Select cell ``index`` and run it, as a person pressing Ctrl+Enter."""
        cell = self.cell(index)
        cell.locator(".jp-InputPrompt").click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+Enter")

    def cell(self, index: int):
        return self.notebook.locator(".jp-Cell").nth(index)

    def run_all(self) -> None:
        self.command("notebook:run-all-cells")

    def save(self) -> dict:
        path = self.server.root / self.name
        before = path.stat().st_mtime  # before saving: a quick save is seen too
        self.command("docmanager:save")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if path.stat().st_mtime != before:
                break
            time.sleep(0.2)
        time.sleep(0.5)
        return json.loads(path.read_text())

    @property
    def panel(self):
        return self.notebook.locator("[data-fluxpanel]").first

    # -- the kernel ----------------------------------------------------------------------
    def kernel(self, code: str, timeout: float = 60):
        """Evaluate ``code`` in the notebook's kernel; returns the last expression
        (its repr, as plain text) or raises with the traceback."""
        if self._kc is None:
            from jupyter_client import BlockingKernelClient

            session = next(
                s for s in self.server.api("/api/sessions") if s["path"].endswith(self.name)
            )
            kc = BlockingKernelClient(
                connection_file=str(self.server.runtime / f"kernel-{session['kernel']['id']}.json")
            )
            kc.load_connection_file()
            kc.start_channels()
            kc.wait_for_ready(timeout=30)
            self._kc = kc
        msg_id = self._kc.execute(code, store_history=False)
        result, error = None, None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = self._kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "execute_result":
                result = content["data"].get("text/plain")
            elif kind == "error":
                error = "\n".join(content["traceback"])
            elif kind == "status" and content["execution_state"] == "idle":
                break
        if error:
            raise AssertionError(re.sub(r"\x1b\[[0-9;]*m", "", error))
        return result

    def value(self, expr: str):
        """A JSON-able Python value from the kernel."""
        text = self.kernel(f"__import__('json').dumps({expr})")
        return json.loads(ast.literal_eval(text))

    def close(self) -> None:
        if self._kc is not None:
            self._kc.stop_channels()


SETUP = """\
import fluxpanel
from fluxpanel.providers import FluxAPI
from fluxpanel.testing import ReferenceServer
server = ReferenceServer(latency={latency}).start()
panel = fluxpanel.FluxPanel(provider=FluxAPI(api_key=server.api_key, url=server.url), {kwargs})
panel"""


@pytest.fixture
def make_lab(jupyter, page):
    opened: list[Lab] = []

    def make(
        cells: list[str],
        *,
        latency: float = 0.0,
        kwargs: str = 'prompt="a red fox in snow"',
        app: str = "lab",
        run: bool = True,
        setup: str | None = None,
    ) -> Lab:
        name = f"t{secrets.token_hex(4)}.ipynb"
        first = setup if setup is not None else SETUP.format(latency=latency, kwargs=kwargs)
        jupyter.write_notebook(name, [first, *cells])
        lab = Lab(jupyter, page, name, app=app)
        opened.append(lab)
        if run:
            lab.run_cell(0)
            lab.panel.wait_for(state="visible", timeout=60_000)
            lab.panel.locator('[data-param="prompt"] textarea').wait_for()
        return lab

    yield make
    for lab in opened:
        lab.close()
    for s in jupyter.api("/api/sessions"):
        req = urllib.request.Request(
            f"{jupyter.url}/api/sessions/{s['id']}?token={jupyter.token}", method="DELETE"
        )
        try:
            urllib.request.urlopen(req, timeout=10)
        except OSError:
            pass


def pytest_sessionstart(session):
    # Once, in the process that runs (or hands out) the tests.
    if not hasattr(session.config, "workerinput") and SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
