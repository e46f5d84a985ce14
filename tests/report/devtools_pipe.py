"""Headless Chromium driven through the DevTools protocol on a pipe
(``--remote-debugging-pipe``: the browser reads commands from fd 3 and writes on fd 4,
each message JSON ended by a NUL byte), to press keys in a report; no library needed.
``Runtime.evaluate`` runs outside the page's Content-Security-Policy, so the tests can
read the page's state without loosening it."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time


class Devtools:
    def __init__(self, chromium: str, tmp_path):
        self.chromium = chromium
        self.profile = str(tmp_path / "chromium-devtools")
        self.next_id = 0
        self.buffer = b""
        self.session = None

    def __enter__(self):
        to_browser, commands = os.pipe()
        replies, from_browser = os.pipe()
        # Above 10, so that placing them on 3 and 4 in the child cannot overwrite one another.
        high_in, high_out = fcntl.fcntl(to_browser, fcntl.F_DUPFD, 10), fcntl.fcntl(from_browser, fcntl.F_DUPFD, 10)
        os.close(to_browser)
        os.close(from_browser)

        def child():
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.proc = subprocess.Popen(
            [
                self.chromium,
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--no-first-run",
                "--disable-extensions",
                "--remote-debugging-pipe",
                "--user-data-dir=%s" % self.profile,
                "--window-size=1200,900",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=child,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(high_in)
        os.close(high_out)
        self.commands, self.replies = commands, replies
        deadline = time.monotonic() + 30
        while not (pages := [t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page"]):
            assert time.monotonic() < deadline, "chromium opened no page"
            time.sleep(0.05)
        page = pages[0]
        self.session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        return self

    def __exit__(self, *exc):
        try:
            self.send("Browser.close", session=False)
        except (OSError, AssertionError):
            pass
        for fd in (self.commands, self.replies):
            os.close(fd)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def send(self, method: str, session: bool = True, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session and self.session is not None:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self.next_id:
                    assert "error" not in reply, reply
                    return reply.get("result", {})
            chunk = os.read(self.replies, 1 << 16)
            assert chunk, "chromium closed the DevTools pipe"
            self.buffer += chunk
        raise AssertionError("no reply to %s" % method)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def open(self, url: str, state: str = "ready") -> None:
        """Load a report and wait until it says ``state`` (with JavaScript off: until it has loaded)."""
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + 60
        expression = "document.body && document.body.getAttribute('data-report-state')"
        if state == "loaded":
            expression = "document.readyState === 'complete' && document.querySelector('footer') ? 'loaded' : ''"
        while self.evaluate(expression) != state:
            assert time.monotonic() < deadline, "the page never said %s" % state
            time.sleep(0.05)

    def wait(self, expression: str):
        """The expression's value, once it is truthy (within a minute)."""
        deadline = time.monotonic() + 60
        while not (value := self.evaluate(expression)):
            assert time.monotonic() < deadline, "never true: %s" % expression
            time.sleep(0.05)
        return value

    KEYS = {
        "ArrowLeft": 37,
        "ArrowUp": 38,
        "ArrowRight": 39,
        "ArrowDown": 40,
        "Home": 36,
        "End": 35,
        "Enter": 13,
        "Escape": 27,
        "/": 191,
        "j": 74,
        "k": 75,
    }

    def key(self, name: str) -> None:
        """Press and release a key on the focused element, as a person would."""
        code = self.KEYS[name]
        text = {"Enter": "\r"}.get(name, name if len(name) == 1 else "")
        down = {"type": "keyDown" if text else "rawKeyDown", "key": name, "windowsVirtualKeyCode": code}
        if text:
            down["text"] = text
        self.send("Input.dispatchKeyEvent", **down)
        self.send("Input.dispatchKeyEvent", type="keyUp", key=name, windowsVirtualKeyCode=code)
