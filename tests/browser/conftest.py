"""Browser fixtures: the real server (`repression-kg serve`) in a subprocess, Debian's Chromium driven by Playwright."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from servers import free_port

CHROMIUM = os.environ.get("KZR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOST = "127.0.0.1"
# The command that serves the site under test.
SERVE = [str(Path(sys.executable).with_name("repression-kg")), "serve", "--host", "{host}", "--port", "{port}",
         "--build-dir", "{build_dir}"]
READY_TIMEOUT = 30.0  # seconds the server may take to answer GET /sparql

ROOT = Path(__file__).resolve().parents[2]


def wait_until_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    """Poll url until it answers 200; fail with the server's log if it exits or times out."""
    deadline = time.monotonic() + READY_TIMEOUT
    request = urllib.request.Request(url, headers={"Accept": "text/html"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the server did not answer {url} within {READY_TIMEOUT:g} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(built, tmp_path_factory):
    """The base URL of a real server over the built store, on a free port of 127.0.0.1."""
    if not (ROOT / "node_modules" / "@zazuko" / "yasgui" / "build").is_dir():
        pytest.fail("node_modules/@zazuko/yasgui is missing: run `npm ci --omit=dev` (scripts/setup.sh does)")
    port = free_port()
    command = [part.format(host=HOST, port=port, build_dir=built) for part in SERVE]
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://{HOST}:{port}"
    try:
        wait_until_ready(base + "/sparql", process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, with no background traffic (never `playwright install`)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium chromium-driver)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh page (new context: empty localStorage); its requests and script errors are recorded."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(15_000)
    yield page
    context.close()

