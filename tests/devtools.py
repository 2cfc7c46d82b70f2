"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (file
descriptors 3 and 4, NUL-separated JSON), enough for a test to press keys in a page of
headless Chromium and ask where the focus is. No library: the protocol is a pipe."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

TAB = {"key": "Tab", "code": "Tab", "windowsVirtualKeyCode": 9}
ENTER = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"}


class Browser:
    """Headless Chromium with one page open at ``url``."""

    def __init__(self, chromium: str, flags: tuple[str, ...], profile: Path, url: str) -> None:
        to_browser, self._writer = os.pipe()
        self._reader, from_browser = os.pipe()

        def child() -> None:  # the browser reads fd 3 and writes fd 4
            read, write = os.dup(to_browser), os.dup(from_browser)
            os.dup2(read, 3)
            os.dup2(write, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self._process = subprocess.Popen(  # noqa: S603 - our own arguments
            [chromium, *flags, "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "about:blank"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=child, close_fds=False)  # noqa: PLW1509
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        self._session = self.call("Target.attachToTarget",
                                  {"targetId": target, "flatten": True})["sessionId"]
        self.page("Emulation.setFocusEmulationEnabled", {"enabled": True})
        self.page("Page.bringToFront")
        deadline = time.monotonic() + 30
        while not self.evaluate("location.href !== 'about:blank' "
                                "&& document.readyState === 'complete'"):
            assert time.monotonic() < deadline, "the page did not load"
            time.sleep(0.1)

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result (events in between are skipped)."""
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._reader, 1 << 16)
                assert chunk, "chromium closed the pipe"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._id:
                assert "error" not in answer, answer["error"]
                return dict(answer["result"])

    def page(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A command to the page."""
        return self.call(method, params, self._session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression, evaluated by DevTools (not by the page,
        whose policy allows no script)."""
        found = self.page("Runtime.evaluate", {"expression": expression,
                                               "returnByValue": True})
        return found["result"].get("value")

    def press(self, key: dict[str, Any]) -> None:
        """Press and release ``key`` (:data:`TAB`, :data:`ENTER`)."""
        self.page("Input.dispatchKeyEvent", {"type": "keyDown", **key})
        self.page("Input.dispatchKeyEvent", {"type": "keyUp", **key})

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (AssertionError, OSError):
            pass
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._writer)
        os.close(self._reader)
