"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: the
browser reads NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4), so
the browser tests need nothing beyond the standard library.

    with Browser() as browser:
        page = browser.page(width=1280, height=900)
        page.open(url)
        page.wait("document.querySelector('.cbi-map') != null")
        page.evaluate("document.title")
        page.screenshot(path)
"""

import base64
import json
import os
import signal
import subprocess
import tempfile
import time

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--lang=en-US", "--remote-debugging-pipe"]
WAIT_S = 60  # how long a page may take to reach a state before the test gives up


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self):
        self._profile = tempfile.TemporaryDirectory(prefix="vpnpassthrough-chromium.")
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()

        def on_fds_3_and_4():
            # dup first: the pipe ends may themselves be fds 3 and 4.
            read_end, write_end = os.dup(to_browser), os.dup(from_browser)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM] + FLAGS + ["--user-data-dir=" + self._profile.name, "about:blank"],
            preexec_fn=on_fds_3_and_4, close_fds=False, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, TZ="UTC"))
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop the browser (its process group: it forks helpers) and drop its profile."""
        for fd in (self._commands, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._profile.cleanup()

    def _message(self):
        while b"\0" not in self._buffer:
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(text)

    def send(self, method, params=None, session=None):
        self._next_id += 1
        command = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self._commands, json.dumps(command).encode() + b"\0")
        while True:
            message = self._message()
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise BrowserError("{}: {}".format(method, message["error"]))
                return message["result"]
            self.events.append(message)

    def page(self, width, height, mobile=False, dark=False):
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        page.send("Page.enable")
        page.send("Runtime.enable")
        page.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        page.send("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
        return page


class Page:
    def __init__(self, browser, session, target):
        self.browser = browser
        self.session = session
        self.target = target

    def close(self):
        self.browser.send("Target.closeTarget", {"targetId": self.target})

    def send(self, method, params=None):
        return self.browser.send(method, params, self.session)

    def open(self, url):
        self.send("Page.navigate", {"url": url})

    def evaluate(self, expression):
        """The value of a JS expression (promises awaited), or BrowserError with its exception."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                               "returnByValue": True})
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise BrowserError("{}: {}".format(expression[:80], details.get(
                "exception", {}).get("description", details.get("text"))))
        return reply["result"].get("value")

    def wait(self, expression, what=None):
        """Poll until the expression is truthy; returns its value. Not a speed check: WAIT_S
        only bounds a page that never gets there."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:
                value = None  # a page between two documents
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError("page never reached: {}".format(what or expression))
            time.sleep(0.1)

    def screenshot(self, path):
        """The whole page, not only the viewport."""
        metrics = self.send("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                    "clip": {"x": 0, "y": 0, "scale": 1,
                                                             "width": metrics["width"],
                                                             "height": metrics["height"]}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
