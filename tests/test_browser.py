"""A real browser opens the Board report: no network request, no console error, a screenshot.

Headless Chromium is driven over the DevTools protocol through ``--remote-debugging-pipe``
(file descriptors 3 and 4, NUL-terminated JSON; standard library only). Every request the
page makes is seen by ``Network.requestWillBeSent`` before any resolver rule could block it,
so an empty list of non-``file:``/``data:`` requests proves the page fetches nothing.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from shared_run import SharedRun

from lcopia import report

pytestmark = pytest.mark.skipif(
    not Path(report.chromium_path()).exists(),
    reason="Chromium is not installed (make deps installs the Debian chromium package)")


class DevTools:
    """Minimal DevTools-protocol client over Chromium's debugging pipe.

    ``timeout`` is a hang guard, not a speed limit: only a Chromium that stopped answering
    ever reaches it, and then the test fails saying so instead of waiting forever.
    """

    def __init__(self, timeout: float = 300) -> None:
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="lcopia-cdp-")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Park the child's ends on high descriptors so dup2 onto 3 and 4 cannot clobber them.
        hi_r = os.dup2(to_chrome_r, 100, inheritable=True)
        hi_w = os.dup2(from_chrome_w, 101, inheritable=True)

        def wire() -> None:
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        flags = [f for f in report.chromium_flags(Path(self.profile.name))
                 if not f.startswith("--host-resolver-rules")]  # observe, do not hide
        self.proc = subprocess.Popen(
            [report.chromium_path(), *flags, "--remote-debugging-pipe",
             "--window-size=1280,2000", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4, 100, 101), preexec_fn=wire)  # the test process is single-threaded
        for fd in (to_chrome_r, from_chrome_w, hi_r, hi_w):
            os.close(fd)
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium's DevTools pipe")
            ready, _, _ = select.select([self.from_chrome], [], [], left)
            if ready:
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise ConnectionError("Chromium closed its DevTools pipe")
                self.buffer += chunk
        raw, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            got = self._read_message(deadline)
            if got.get("id") == self.next_id:
                if "error" in got:
                    raise RuntimeError(f"{method}: {got['error']}")
                return got.get("result", {})
            self.events.append(got)

    def wait_for(self, method: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read_message(deadline))

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self.call("Browser.close")  # Chromium exits (and takes its helpers) on this
        except (OSError, RuntimeError, TimeoutError, ConnectionError):
            self.proc.kill()  # it stopped answering: stop it
        self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)
        self.profile.cleanup()


def open_in_browser(page: Path) -> tuple[list[dict[str, Any]], bytes]:
    """Load a file in headless Chromium; return every DevTools event seen and a screenshot."""
    cdp = DevTools()
    try:
        target = cdp.call("Target.createTarget", url="about:blank")["targetId"]
        session = cdp.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Network", "Runtime", "Log", "Page"):
            cdp.call(f"{domain}.enable", session)
        cdp.call("Page.navigate", session, url=page.as_uri())
        cdp.wait_for("Page.loadEventFired", cdp.timeout)
        cdp.drain(1.0)  # anything fired late (lazy images, timers) still gets recorded
        shot = cdp.call("Page.captureScreenshot", session, format="png")["data"]
        return cdp.events, base64.b64decode(shot)
    finally:
        cdp.close()


@pytest.fixture
def board_run(shared_run: SharedRun) -> Path:
    """The suite's shared ``assess`` run folder (script and formula text in its inventory)."""
    return shared_run.run_dir


def _requests(events: list[dict[str, Any]]) -> list[str]:
    return [e["params"]["request"]["url"] for e in events
            if e.get("method") == "Network.requestWillBeSent"]


def _errors(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in {"error", "assert"}:
            out.append(json.dumps(p.get("args")))
        elif m == "Runtime.exceptionThrown":
            out.append(json.dumps(p.get("exceptionDetails")))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(p["entry"].get("text", ""))
        elif m == "Network.loadingFailed":
            out.append(f"failed load: {p.get('errorText')}")
    return out


@pytest.mark.parametrize("name", ["board-report.html", "vendor-privacy-policies.html"])
def test_browser_opens_the_page_with_no_network_request_and_no_console_error(
        board_run: Path, tmp_path: Path, name: str) -> None:
    page = board_run / name
    events, png = open_in_browser(page)
    requests = _requests(events)
    assert requests and requests[0] == page.as_uri()  # the probe really saw the page load
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert [u for u in requests if u.startswith("file:") and u != page.as_uri()] == []
    assert _errors(events) == []
    assert not any(e.get("method") == "Page.javascriptDialogOpening" for e in events)
    shot = tmp_path / f"{name}.png"
    shot.write_bytes(png)
    image = Image.open(io.BytesIO(png))
    assert image.size[0] >= 800 and shot.stat().st_size > 20_000
    tones = [n for n in image.convert("L").histogram() if n]
    assert len(tones) > 20  # rendered text and tables, not a blank page


def test_the_probe_does_see_an_external_request_when_a_page_makes_one(tmp_path: Path) -> None:
    page = tmp_path / "leaky.html"
    page.write_text('<!doctype html><html><body><img src="https://tracker.example/p.gif" '
                    'alt="pixel"></body></html>')
    events, _ = open_in_browser(page)
    assert "https://tracker.example/p.gif" in _requests(events)
