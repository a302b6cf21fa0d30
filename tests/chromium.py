"""Headless Chromium driven over the DevTools protocol, for the browser tests and the
dashboard benchmark. No package needed: Chromium speaks the protocol over two pipes
(``--remote-debugging-pipe``: commands on fd 3, replies on fd 4, each message JSON
ended by a NUL byte).

    with Chromium() as browser:
        page = browser.open(path)           # waits for the load event
        page.evaluate("document.title")
        page.screenshot(tmp_path / "page.png")
        page.errors                          # console errors, uncaught exceptions, CSP reports

Chromium is Debian's ``chromium`` (``CHROMIUM`` overrides the path); it never
downloads anything and runs with a throw-away profile.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT = 60.0
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def chromium_path() -> str | None:
    """The Chromium binary, or None when it is not installed."""
    wanted = os.environ.get("CHROMIUM")
    if wanted:
        return wanted if Path(wanted).exists() else None
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


class BrowserError(RuntimeError):
    pass


@dataclass
class Page:
    browser: Chromium
    session: str
    errors: list[str] = field(default_factory=list)

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (returned by value)."""
        reply = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, condition: str, timeout: float = 60) -> None:
        """Wait until the page is loaded and the JavaScript ``condition`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.evaluate(f"document.readyState === 'complete' && ({condition})"):
                    return
            except Exception:  # the page is between two documents
                pass
            time.sleep(0.1)
        raise AssertionError(f"the page never met {condition!r}; it shows {self.evaluate('location.href')}")

    def go(self, url: str) -> None:
        """Navigate to ``url`` and wait until the page is there."""
        self.send("Page.navigate", url=url)
        self.wait_for(f"location.href === {json.dumps(url)}")

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (the whole page, not only the viewport, by default)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params |= {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            }
        data = self.send("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path


class Chromium:
    """One headless browser; pages are tabs of it."""

    def __init__(self, binary: str | None = None, *, width: int = 1200, height: int = 900):
        found = binary or chromium_path()
        if found is None:
            raise BrowserError("chromium is not installed (apt-get install chromium)")
        self.binary = found
        self.size = (width, height)
        self._profile = tempfile.TemporaryDirectory(prefix="grader-chromium-")
        self._next_id = 0
        self._buffer = b""
        self._pages: dict[str, Page] = {}
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Chromium:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()

        def wire_pipes() -> None:  # in the child: the protocol's fds 3 and 4, kept across exec
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_read, from_browser_write)]
            for target, fd in zip((3, 4), high, strict=True):
                os.dup2(fd, target)
                os.set_inheritable(target, True)

        command = [self.binary, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"]
        command.insert(-1, f"--window-size={self.size[0]},{self.size[1]}")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            close_fds=False,  # fds 3 and 4 are made in the child; Python's own fds are not inheritable
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", {}, timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            os.close(fd)
        self._profile.cleanup()

    # -- the protocol -------------------------------------------------------------------

    def send(
        self, method: str, params: dict[str, Any], *, session: str | None = None, timeout: float = TIMEOUT
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._wait(lambda m: m.get("id") == message["id"], timeout, method)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def _wait(self, wanted: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self._events):
                if wanted(message):
                    return self._events.pop(index)
            if time.monotonic() > deadline:
                raise BrowserError(f"no answer from chromium to {what} within {timeout:.0f} s")
            self._read_messages()

    def _read_messages(self) -> None:
        chunk = os.read(self._from_browser, 1 << 20)
        if not chunk:
            raise BrowserError("chromium closed the protocol pipe")
        self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\0")
        for raw in complete:
            message = json.loads(raw)
            self._note_error(message)
            self._events.append(message)

    def _note_error(self, message: dict[str, Any]) -> None:
        page = self._pages.get(message.get("sessionId", ""))
        if page is None:
            return
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            page.errors.append("uncaught: " + json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            page.errors.append("console: " + json.dumps(params.get("args", []))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            page.errors.append("log: " + params["entry"].get("text", ""))

    # -- pages ----------------------------------------------------------------------------

    def open(self, path: Path | str, *, timeout: float = TIMEOUT) -> Page:
        """A new tab showing ``path`` (a file or a URL), once its load event has fired."""
        url = path if isinstance(path, str) else Path(path).resolve().as_uri()
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        self._pages[session] = page
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        page.send("Page.navigate", url=url)
        self._wait(
            lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session,
            timeout,
            f"loading {url}",
        )
        return page
