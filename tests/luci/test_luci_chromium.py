"""The status panel in a real browser: headless Chromium opens tests/luci/harness.html, served
from the repository on 127.0.0.1, which renders the real view's panel from the recorded agent
replies. The test reads the DOM Chromium ends up with and keeps a screenshot of it as
build/luci-status.png. Skipped only when Chromium is not installed (`make deps` tries to
install Debian's chromium package)."""

import os
import re
import signal
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = os.path.join(REPO, "build", "luci-status.png")
BROWSER_TIMEOUT_S = 120
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic", "--hide-scrollbars", "--lang=en-US", "--virtual-time-budget=10000"]


def stop(proc):
    """Stop a process group this test started (the server, or Chromium and its helpers)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def server():
    """python's http.server on 127.0.0.1, on a port the kernel picks; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind",
                             "127.0.0.1", "--directory", REPO], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        banner = proc.stdout.readline()
        port = re.search(r"port (\d+)", banner)
        assert port, "http.server said: {!r}".format(banner)
        yield "http://127.0.0.1:{}".format(port.group(1))
    finally:
        stop(proc)


def chromium(*args):
    """Run Chromium once with an empty profile; returns its stdout."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed ({} missing; `make deps` installs Debian's "
                    "chromium package when it can)".format(CHROMIUM))
    with tempfile.TemporaryDirectory(prefix="vpnpassthrough-chromium.") as profile:
        proc = subprocess.Popen([CHROMIUM] + FLAGS + ["--user-data-dir=" + profile] +
                                list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=dict(os.environ, TZ="UTC"),
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=BROWSER_TIMEOUT_S)
        finally:
            stop(proc)
    assert proc.returncode == 0, err[-2000:]
    return out


@pytest.fixture(scope="module")
def dom(server):
    return chromium("--dump-dom", server + "/tests/luci/harness.html")


def section(dom, situation):
    found = re.search(r'<section data-situation="{}">(.*?)</section>'.format(situation), dom,
                      re.S)
    assert found, "no panel for " + situation
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_page_rendered_without_error(dom):
    assert 'data-rendered="yes"' in dom
    assert "<main id=\"view\">HARNESS ERROR" not in dom


def test_all_passing_panel_shows_states_and_three_tunnels(dom):
    text = section(dom, "all_passing")
    assert "IPsec Passing" in text and "PPTP Passing" in text and "L2TP Passing" in text
    assert "PPTP helper assigned to PPTP control connections" in text
    for client, server in (("10.99.1.11", "198.51.100.2"), ("10.99.1.12", "198.51.100.3")):
        assert "{} {} 198.51.100.1".format(client, server) in text
    assert text.count("198.51.100.1") == 3


def test_blocked_degraded_and_empty_panels_say_so(dom):
    assert "PPTP Blocked (switched off)" in section(dom, "pptp_blocked")
    degraded = section(dom, "pptp_degraded")
    assert "PPTP Degraded: PPTP helper module nf_conntrack_pptp, nf_nat_pptp missing" in degraded
    assert "nf_nat_pptp: missing (install kmod-nf-nathelper-extra)" in degraded
    assert "No VPN tunnel crosses the router right now." in section(dom, "no_tunnels")


def test_agent_not_answering_panel_is_the_message_alone(dom):
    text = section(dom, "agent_not_answering")
    assert "The VPN passthrough agent is not answering" in text
    assert "Protocol" not in text


def test_screenshot_is_kept_as_a_build_artifact(server):
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    if os.path.exists(SCREENSHOT):
        os.remove(SCREENSHOT)
    chromium("--screenshot=" + SCREENSHOT, "--window-size=1280,2300",
             server + "/tests/luci/harness.html")
    with open(SCREENSHOT, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(SCREENSHOT) > 20000  # a rendered page, not a blank image
