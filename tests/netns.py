"""Network namespaces that a test creates and deletes by its own name.

Nothing here touches the machine's root namespace: every command that changes state runs
inside a namespace created here, and names carry a per-run prefix so parallel or leftover
runs cannot clash.
"""

import os
import re
import subprocess
import sys
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(REPO, "agent")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
MICROPYTHON = os.path.join(VENV_BIN, "micropython")
LAUNCHER = os.path.join(REPO, "files", "usr", "sbin", "vpnpassthrough")
FAKES = os.path.join(REPO, "tests", "ubus", "fakes")  # stand-ins, each saying why it is one
SESSION = "0123456789abcdef0123456789abcdef"  # what LuCI adds to every ubus call
# Parts built on this machine from other projects' sources (never committed):
# ../shared/openwrt/README.md says what they are and how they are kept.
TOOLS = os.getenv("ROUTER_TOOLS") or "/var/cache/openwrt-userspace/tools"


def standalone_micropython(version):
    """$ROUTER_TOOLS/micropython-VERSION, the unix port as OpenWrt builds it, or a skip."""
    import pytest

    path = os.path.join(TOOLS, "micropython-" + version)
    if not os.access(path, os.X_OK):
        pytest.skip("no MicroPython {} at {} (set ROUTER_TOOLS)".format(version, path))
    return path


def eventually(probe, what, timeout=5.0):
    """Poll probe() (bounded in time and count) until it returns something true; fail saying
    what did not happen. The timeout is a promise's bound, never a speed check."""
    deadline = time.monotonic() + timeout
    for _ in range(100000):
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise AssertionError("within {} s: {}".format(timeout, what))


def unique_prefix():
    return "vpt{}{}".format(os.getpid() % 10000, uuid.uuid4().hex[:4])


class Namespace:
    def __init__(self, name):
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True)
        self.run(["ip", "link", "set", "lo", "up"])

    def run(self, argv, check=True, **kwargs):
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        done = subprocess.run(["ip", "netns", "exec", self.name] + list(argv), **kwargs)
        if check and done.returncode != 0:
            raise AssertionError("{} in {} failed ({}): {}{}".format(
                argv, self.name, done.returncode, done.stdout, done.stderr))
        return done

    def popen(self, argv, **kwargs):
        return subprocess.Popen(["ip", "netns", "exec", self.name] + list(argv), **kwargs)

    def nft_table(self):
        """The agent's table as nft lists it, or None."""
        done = self.run(["nft", "list", "table", "inet", "vpnpassthrough"], check=False)
        return done.stdout if done.returncode == 0 else None

    def delete(self):
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)


def micropython_argv():
    """micropython with the options the launcher gives it (its heap size)."""
    with open(LAUNCHER) as f:
        options = re.search(r"exec micropython (.*) -m vpnpassthrough", f.read()).group(1)
    return [MICROPYTHON] + options.split()


def agent_argv(python=None):
    """The real CLI, run from the source tree (CPython by default, or micropython)."""
    return [python or sys.executable, "-m", "vpnpassthrough"]


def agent_env(config_dir, state_dir, extra_path=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = AGENT
    env["MICROPYPATH"] = AGENT + ":.frozen"
    env["VPNPASSTHROUGH_CONFIG_DIR"] = config_dir
    env["VPNPASSTHROUGH_STATE_DIR"] = state_dir
    # firewall4's lock, of the test's own: the machine's /var/run is not the test's to touch
    env["VPNPASSTHROUGH_FW4_LOCK"] = os.path.join(os.path.dirname(state_dir.rstrip("/")),
                                                  "fw4.lock")
    if extra_path:
        env["PATH"] = extra_path + ":" + env["PATH"]
    return env


def write_config(config_dir, **options):
    """A committed /etc/config/vpnpassthrough with these options (lists as Python lists)."""
    lines = ["", "config vpnpassthrough 'main'"]
    for name, value in options.items():
        values = value if isinstance(value, list) else [value]
        keyword = "list" if isinstance(value, list) else "option"
        for item in values:
            lines.append("\t{} {} '{}'".format(keyword, name, item))
    path = os.path.join(config_dir, "vpnpassthrough")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(tmp, path)
    return path
