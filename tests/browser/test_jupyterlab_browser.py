"""The course in a real browser: JupyterLab + headless Debian Chromium driven by Playwright.

The test starts JupyterLab on a free local port with a random token, opens
``notebooks/06_pooling.ipynb`` (a copy in a temporary directory, so neither autosave nor
checkpoints can touch the repository), runs every cell, waits for the pooling explorer's image,
presses the right-arrow key on its first slider handle (the window size) and checks that the
``<img>`` the browser shows changed: a new ``src`` and different PNG bytes.

It skips, saying why, only when Chromium (``/usr/bin/chromium``, ``apt-get install chromium``) or
the ``playwright`` Python package is missing; Playwright never downloads a browser here.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/06_pooling.ipynb"
CHROMIUM = Path(os.environ.get("LABKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
SERVER_TIMEOUT = 60        # seconds for JupyterLab to answer (2 busy cores: ~5-15 s)
APP_TIMEOUT_MS = 60_000    # JupyterLab front end started and the notebook open
RUN_TIMEOUT_MS = 60_000    # kernel start + run all cells (kernel start alone can take 20 s)
CHANGE_TIMEOUT_MS = 30_000 # one re-render after the key press


def _requirements():
    if not CHROMIUM.exists():
        pytest.skip(f"browser test needs Chromium at {CHROMIUM} (apt-get install chromium); "
                    f"it is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser test needs the playwright Python package (pip install playwright)")
    if shutil.which("jupyter") is None and not (Path(sys.executable).parent / "jupyter").exists():
        pytest.skip("browser test needs JupyterLab (pip install jupyterlab)")
    return sync_playwright


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method,
                                 headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        body = r.read()
    return json.loads(body) if body else None


class Lab:
    """A JupyterLab server in its own process group, with a clean shutdown."""

    def __init__(self, root: Path, log: Path):
        self.port = _free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        # The kernel must import this checkout's labkit even without `pip install -e`.
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep)
        env["JUPYTER_RUNTIME_DIR"] = str(root / ".runtime")
        env.pop("MPLBACKEND", None)        # the kernel uses the inline backend
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               f"--port={self.port}", "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
               "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
               f"--ServerApp.root_dir={root}", f"--LabApp.workspaces_dir={root / '.ws'}",
               f"--LabApp.user_settings_dir={root / '.settings'}",
               "--ServerApp.terminals_enabled=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")          # CI containers run as root
        # Kept open for the server's lifetime and closed in stop().
        self.log = open(log, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=root, start_new_session=True)
        self.log_path = log

    def wait_ready(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n"
                                   f"{self.tail()}")
            try:
                _api(self.base, self.token, "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        self.log.flush()
        return self.log_path.read_bytes()[-n:].decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Kernels run in their own sessions: shut them down through the API first, then
            # the server; the process-group signals are the fallback.
            try:
                for k in _api(self.base, self.token, "/api/kernels") or []:
                    _api(self.base, self.token, f"/api/kernels/{k['id']}", "DELETE")
                _api(self.base, self.token, "/api/shutdown", "POST")
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            for sig, wait in ((None, 10), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                if sig is not None and self.proc.poll() is None:
                    try:
                        os.killpg(self.proc.pid, sig)
                    except ProcessLookupError:
                        break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.log.close()


@pytest.fixture
def lab(tmp_path):
    sync_playwright = _requirements()          # skip before starting anything
    root = tmp_path / "lab"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(REPO / NOTEBOOK, root / NOTEBOOK)
    server = Lab(root, tmp_path / "jupyter.log")
    server.sync_playwright = sync_playwright
    try:
        server.wait_ready(SERVER_TIMEOUT)
        yield server
    finally:
        server.stop()


# JavaScript run in the page: wait for the app, open notebook, clear and run every cell.
JS_RUN_ALL = """
async () => {
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  let panel = null;
  for (let i = 0; i < 600 && !panel; i++) {
    const w = app.shell.currentWidget;
    if (w && w.context && w.sessionContext && w.content) { panel = w; break; }
    await new Promise(r => setTimeout(r, 100));
  }
  if (!panel) { throw new Error('no notebook panel became current'); }
  await panel.context.ready;
  await panel.sessionContext.ready;
  await app.commands.execute('notebook:clear-all-cell-outputs');
  const ok = await app.commands.execute('notebook:run-all-cells');
  const errors = [];
  for (const cell of panel.content.widgets) {
    if (cell.model.type !== 'code') { continue; }
    for (let k = 0; k < cell.model.outputs.length; k++) {
      const out = cell.model.outputs.get(k);
      if (out.type === 'error') { errors.push(out.toJSON().ename + ': ' + out.toJSON().evalue); }
    }
  }
  return {ok: ok, errors: errors, cells: panel.content.widgets.length};
}
"""

JS_IMAGE_BYTES = """
async (img) => {
  const buf = await (await fetch(img.src)).arrayBuffer();
  return Array.from(new Uint8Array(buf));
}
"""


def test_pooling_notebook_slider_changes_image(lab):
    sync_playwright = lab.sync_playwright
    t0 = time.monotonic()
    url = f"{lab.base}/lab/tree/{NOTEBOOK}?token={lab.token}&reset"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.goto(url, timeout=APP_TIMEOUT_MS)
            page.wait_for_function("() => window.jupyterapp !== undefined",
                                   timeout=APP_TIMEOUT_MS)
            page.set_default_timeout(RUN_TIMEOUT_MS)
            result = page.evaluate(JS_RUN_ALL)
            assert result["ok"], f"run-all reported failure: {result}"
            assert not result["errors"], f"cells raised: {result['errors']}"

            explorer = page.locator(".labkit-explorer").first
            image = explorer.locator("img.labkit-explorer-image")
            image.wait_for(state="visible", timeout=RUN_TIMEOUT_MS)
            page.wait_for_function(
                "() => { const i = document.querySelector('.labkit-explorer img."
                "labkit-explorer-image'); return i && i.complete && i.naturalWidth > 0; }",
                timeout=RUN_TIMEOUT_MS)
            src_before = image.get_attribute("src")
            bytes_before = bytes(image.evaluate(JS_IMAGE_BYTES))
            assert bytes_before[:8] == b"\x89PNG\r\n\x1a\n"

            # ipywidgets 8 draws sliders with noUiSlider; ipywidgets 7 used jQuery UI.
            handle = explorer.locator(".noUi-handle, .ui-slider-handle").first
            handle.scroll_into_view_if_needed()
            handle.focus()
            page.keyboard.press("ArrowRight")

            page.wait_for_function(
                "(before) => { const i = document.querySelector('.labkit-explorer img."
                "labkit-explorer-image'); return i && i.src !== before && i.complete "
                "&& i.naturalWidth > 0; }",
                arg=src_before, timeout=CHANGE_TIMEOUT_MS)
            bytes_after = bytes(image.evaluate(JS_IMAGE_BYTES))
            message = explorer.locator(".labkit-explorer-message").inner_text()
            if os.environ.get("LABKIT_SCREENSHOT"):        # the README's picture comes from here
                page.add_style_tag(content=".Toastify { display: none !important; }")
                explorer.screenshot(path=os.environ["LABKIT_SCREENSHOT"])
        except Exception:
            print("---- browser console ----\n" + "\n".join(console[-40:]))
            print("---- jupyter log ----\n" + lab.tail())
            raise
        finally:
            browser.close()
    assert bytes_after[:8] == b"\x89PNG\r\n\x1a\n"
    assert hashlib.sha256(bytes_after).digest() != hashlib.sha256(bytes_before).digest()
    assert "error" not in message.lower(), message
    elapsed = time.monotonic() - t0
    print(f"browser test: run-all + slider in {elapsed:.1f} s")
    assert elapsed < 120
