"""Statements in a real browser: headless Chromium (Debian's; .ci/run installs it) lays out a statement as a phone
shows it and as a desktop does, and the test reads what it measured: the charts are there and visible, within the
page, and nothing is wider than the screen (a wide table scrolls within its box).

Chromium is driven through its DevTools protocol over a pipe (--remote-debugging-pipe): a phone's screen is
emulated as a phone's (the page's viewport tag applies), and the measuring is done from outside the page, which
has no script of its own. No network, no Node.js. Without Chromium the test is skipped, except in CI (CI=true),
where it must run.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from test_statement_pages import DEALS, PLAN, ae_result

import spmlang

MEASURE = """JSON.stringify((() => {
  const box = (element) => {
    const r = element.getBoundingClientRect(), style = getComputedStyle(element);
    return {left: r.left, right: r.right, width: r.width, height: r.height, display: style.display,
            visibility: style.visibility, scrollWidth: element.scrollWidth, clientWidth: element.clientWidth};
  };
  return {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    charts: [...document.querySelectorAll("svg.chart")].map(box),
    scrolls: [...document.querySelectorAll(".scroll")].map(box),
  };
})())"""
PHONE, DESKTOP = (390, 844, True), (1280, 900, False)
FLAGS = [  # headless, as root, with nothing to reach on the network
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str:
    found = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run the browser test: .ci/run installs Chromium (apt-get install chromium)")
    pytest.skip("no Chromium here (apt-get install chromium); CI runs this test")


class Browser:
    """Chromium over its DevTools protocol on a pipe: JSON messages, each ended by a NUL byte, on fds 3 and 4."""

    def __init__(self, binary: str, profile: str):
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        # Chromium reads its commands on fd 3 and writes its replies on fd 4: the pipes' ends are put there as it
        # starts (inheritable copies; the rest of this process's files are not inherited, being non-inheritable).
        # They are first copied above 4, so that neither is overwritten by the other, whatever their numbers.
        def on_fds_3_and_4() -> None:
            commands, replies = (fcntl.fcntl(fd, fcntl.F_DUPFD, 5) for fd in (commands_read, replies_write))
            os.dup2(commands, 3), os.dup2(replies, 4)

        self._process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            close_fds=False,
            preexec_fn=on_fds_3_and_4,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read), os.close(replies_write)
        self._buffer, self._next, self.events = b"", 0, []

    def send(self, method: str, session: str | None = None, timeout: float = 60, **params) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        reply = self._until(lambda m: m.get("id") == self._next, timeout)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply.get("result", {})

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        return self._until(lambda m: m.get("method") == method, timeout)

    def _until(self, wanted, timeout: float) -> dict:
        for message in self.events:
            if wanted(message):
                self.events.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    return message
                self.events.append(message)
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise AssertionError("Chromium closed its pipe")
            self._buffer += chunk
        raise AssertionError("Chromium did not answer in time")

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        finally:
            self._process.wait(timeout=30)
            os.close(self._commands), os.close(self._replies)


def measured(page: str, folder: Path, screen: tuple[int, int, bool]) -> dict:
    """What Chromium measures of ``page`` on a screen of (width, height, a phone's)."""
    path = folder / "statement.html"
    path.write_text(page)
    width, height, phone = screen
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(chromium(), profile)
        try:
            target = browser.send("Target.createTarget", url="about:blank")["targetId"]
            session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            browser.send(
                "Emulation.setDeviceMetricsOverride",
                session,
                width=width,
                height=height,
                deviceScaleFactor=3 if phone else 1,
                mobile=phone,
            )
            browser.send("Page.enable", session)
            browser.send("Page.navigate", session, url=path.as_uri())
            browser.wait_for("Page.loadEventFired")
            result = browser.send("Runtime.evaluate", session, expression=MEASURE, returnByValue=True)
        finally:
            browser.close()
    return json.loads(result["result"]["value"])


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_statements_charts_are_visible_and_nothing_overflows(tmp_path, size):
    (statement,) = ae_result().statements(["dev.patel"], ["2027-Q3"])
    page = statement.to_html()
    assert "<script" not in page
    seen = measured(page, tmp_path, size)
    # The screen's width, no wider: a page wider than a phone makes the phone zoom out, its window wider too.
    assert seen["innerWidth"] == size[0]
    assert seen["scrollWidth"] <= seen["innerWidth"], "the page is wider than the screen"
    assert len(seen["charts"]) == 2
    for chart in seen["charts"]:
        assert chart["display"] != "none" and chart["visibility"] == "visible"
        assert 0 <= chart["left"] and chart["right"] <= seen["innerWidth"], chart
        assert chart["width"] >= min(0.8 * seen["innerWidth"] - 40, 600), chart  # as wide as the screen allows
        assert chart["height"] >= 0.4 * chart["width"], chart  # its height follows its width
    for box in seen["scrolls"]:
        assert box["right"] <= seen["innerWidth"], box


def test_a_table_wider_than_a_phone_scrolls_within_its_box(tmp_path):
    """A deal key and a payee name too long for a phone: the page stays as wide as the screen."""
    folder = tmp_path / "data"
    folder.mkdir()
    key = "OPPORTUNITY-" + "7" * 60
    (folder / "deals.csv").write_text(DEALS + f"{key},ann,2027-03-05,1234567.89\n")
    result = spmlang.loads(PLAN, str(folder / "plan.spm")).run(folder / "deals.csv")
    (statement,) = result.statements(["ann"], ["2027-Q1"])
    seen = measured(statement.to_html(), tmp_path, PHONE)
    # A page wider than a phone makes the phone zoom out: its window grows past the screen's 390 pixels.
    assert seen["innerWidth"] == PHONE[0] and seen["scrollWidth"] <= seen["innerWidth"], seen["scrollWidth"]
    assert any(box["scrollWidth"] > box["clientWidth"] for box in seen["scrolls"]), "the earnings table scrolls"
