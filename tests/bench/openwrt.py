"""Figure 8: a one-shot `vpnpassthrough apply` that switches PPTP off, against `fw4 reload` of
the same router: what an OpenWrt user already waits for on every firewall change.

Both run in an OpenWrt userspace booted by ../shared/openwrt/router from a rootfs built on
this machine ($ROUTER_ROOTFS, default /var/cache/openwrt-userspace/rootfs.tar.xz): its fw4,
ucode, procd, uci, with the agent installed by `opkg install` of the packages `make ipk`
builds. One router has python3 and `vpnpassthrough` (.pyc); the other MicroPython 1.23.0 as
/usr/bin/micropython and `vpnpassthrough-micro` (.mpy), and runs the same launcher once more
with MicroPython 1.28.0 first on its PATH. The service is stopped (its daemon would apply the
commit itself), so each apply is the CLI's own. A timer inside the router (the host's python3,
which the router's userland is) runs each command as a child and times it, so no `router
exec` start is in any figure; the commands of a round run in rotating order. Each apply
starts from PPTP on (set, committed and applied untimed) and is checked to have replaced the
table. The router shares this machine's kernel: its modprobe and rmmod are replaced by
stand-ins that refuse, as in the openwrt test tier.
"""

import json
import os
import shutil
import subprocess
import tempfile
import uuid

import measure
from lab import REPO, TARGET_MICROPYTHON, TOOLS
from report import figure, rid, skipped

CACHE = "/var/cache/openwrt-userspace"
TOOL = os.environ.get("ROUTER_TOOL") or os.path.normpath(
    os.path.join(REPO, "..", "shared", "openwrt", "router"))
ROOTFS = os.environ.get("ROUTER_ROOTFS") or os.path.join(CACHE, "rootfs.tar.xz")
COMMAND_S = 120
TARGETS = {"cpython": ("max_ratio", 1.0), TARGET_MICROPYTHON: ("max_ratio", 0.7)}
ANCHOR = "fw4 reload, same router"
REFUSE = '#!/bin/sh\necho "$0: not in a test router" >&2\nexit 1\n'
MODULE_TOOLS = ("modprobe", "insmod", "rmmod")
ALT_BIN = "/tmp/bench-bin-{}"

# Runs inside the router: {"rounds": n, "cases": [{"name", "argv", "env", "apply"}]} on stdin,
# {name: [[wall ms, cpu ms], ...]} on stdout.
TIMER = r'''
import json, os, resource, subprocess, sys, time

def run(argv, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    if done.returncode != 0:
        sys.exit("{} failed ({}): {}{}".format(argv, done.returncode, done.stdout, done.stderr))
    return wall, cpu, done.stdout

def pptp(value):
    run(["sh", "-c", "uci set vpnpassthrough.main.pptp={} && uci commit vpnpassthrough"
         .format(value)])

plan = json.load(sys.stdin)
found = {case["name"]: [] for case in plan["cases"]}
for i in range(plan["rounds"]):
    cases = plan["cases"][i % len(plan["cases"]):] + plan["cases"][:i % len(plan["cases"])]
    for case in cases:
        env = dict(os.environ, **case["env"])
        if case["apply"]:
            pptp(1)
            run(["vpnpassthrough", "apply"])
            pptp(0)
        wall, cpu, out = run(case["argv"], env)
        if case["apply"] and ('"changed": true' not in out or "ruleset replaced" not in out):
            sys.exit("{}: the apply did not switch PPTP off: {}".format(case["name"], out))
        found[case["name"]].append([wall, cpu])
print(json.dumps(found))
'''


def unavailable():
    if not os.path.isfile(ROOTFS):
        return "no OpenWrt rootfs at {} (set ROUTER_ROOTFS)".format(ROOTFS)
    if not os.access(TOOL, os.X_OK):
        return "no router tool at {} (set ROUTER_TOOL)".format(TOOL)
    return None


class Router:
    def __init__(self, base, options):
        self.name = "vptb{}{}".format(os.getpid() % 10000, uuid.uuid4().hex[:4])
        self.env = dict(os.environ, ROUTER_BASE=base)
        self.tool("up", self.name, "--rootfs", ROOTFS, *options)
        for name in MODULE_TOOLS:
            for folder in ("/usr/sbin", "/sbin"):
                self.exec("sh", "-c", 'rm -f "$1" && cat > "$1" && chmod 755 "$1"', "sh",
                          f"{folder}/{name}", input=REFUSE)

    def tool(self, *argv, input=None, check=True):
        done = subprocess.run([TOOL] + list(argv), env=self.env, input=input,
                              capture_output=True, text=True, timeout=COMMAND_S, check=False)
        if check and done.returncode != 0:
            raise RuntimeError("router {} failed ({}): {}{}".format(
                " ".join(argv[:3]), done.returncode, done.stdout[-1500:], done.stderr[-1500:]))
        return done

    def exec(self, *argv, input=None):
        return self.tool("exec", self.name, *argv, input=input)

    def install(self, ipk):
        self.tool("copy-in", self.name, ipk, "/tmp/")
        self.exec("opkg", "install", "/tmp/" + os.path.basename(ipk))
        # the daemon would apply a commit itself: every apply measured is the CLI's own
        self.exec("/etc/init.d/vpnpassthrough", "stop")

    def down(self):
        self.tool("down", self.name, check=False)


def _time(router, cases, rounds):
    router.exec("sh", "-c", 'cat > /tmp/bench-timer.py', input=TIMER)
    plan = {"rounds": rounds, "cases": cases}
    done = router.exec("python3", "/tmp/bench-timer.py", input=json.dumps(plan))
    return json.loads(done.stdout)


def _fw4():
    return {"name": "fw4", "argv": ["fw4", "reload"], "env": {}, "apply": False}


# What a one-shot apply that switches PPTP off is made of, each timed on its own in the same
# rotation: the interpreter's start, the launcher with the CLI's imports, and the commands
# the apply runs (the cut's ctnetlink dumps walk the kernel's conntrack hash, as conntrack -L
# of an empty table does once).
PIECES = (("true (the timer's own cost of a child)", ["true"]),
          ("fw4 -q zone wan", ["fw4", "-q", "zone", "wan"]),
          ("nft -j list table", ["nft", "-j", "list", "table", "inet", "vpnpassthrough"]),
          ("flock + nft -f of the table", ["flock", "-x", "/var/run/fw4.lock", "nft", "-f",
                                           "/var/run/vpnpassthrough/ruleset.nft"]),
          ("conntrack -L, empty table", ["conntrack", "-L"]),
          ("launcher + CLI imports (--version)", ["vpnpassthrough", "--version"]))


def _pieces(interpreter, env=None):
    found = [{"name": "piece: interpreter start", "argv": interpreter + ["-c", "pass"],
              "env": env or {}, "apply": False}]
    for name, argv in PIECES:
        found.append({"name": "piece: " + name, "argv": argv, "env": env or {},
                      "apply": False})
    return found


def _apply(name, env=None):
    return {"name": name, "argv": ["vpnpassthrough", "apply"], "env": env or {}, "apply": True}


def _records(found, names, labels, note):
    anchor = [wall for wall, _cpu in found["fw4"]]
    records = []
    pieces = {name[len("piece: "):]: measure.summary([wall for wall, _cpu in values])["median"]
              for name, values in found.items() if name.startswith("piece: ")}
    for key in names:
        walls = [wall for wall, _cpu in found[key]]
        cpus = [cpu for _wall, cpu in found[key]]
        records.append(figure(rid("8a", key), "one-shot apply switching PPTP off, OpenWrt "
                              "router, " + labels[key] + " (wall)", "ms", walls, ANCHOR,
                              anchor, TARGETS.get(key), note=note.get(key, ""),
                              detail={"cpu_incl_children": measure.summary(cpus),
                                      "pieces_wall_ms": pieces,
                                      "fw4_reload_cpu": measure.summary(
                                          [cpu for _wall, cpu in found["fw4"]]),
                                      "fw4_reload_wall": measure.summary(anchor)}))
    return records


def run(env, params):
    why = unavailable()
    labels = {"cpython": "CPython", "1.23.0": "MicroPython 1.23.0",
              "1.28.0": "MicroPython 1.28.0"}
    if why is None and env.bytecode.error:
        why = env.bytecode.error
    if why:
        return [skipped(rid("8a", key), "one-shot apply switching PPTP off, OpenWrt router, "
                        + labels[key] + " (wall)", "ms", why, TARGETS.get(key))
                for key in labels]
    rounds = params["router_rounds"]
    base = tempfile.mkdtemp(prefix="vpnpassthrough-bench-routers-")
    records = []
    try:
        router = Router(base, [])
        try:
            router.install(env.bytecode.ipks["vpnpassthrough"])
            found = _time(router, [_fw4(), _apply("cpython")] + _pieces(["python3", "-B"]),
                          rounds)
        finally:
            router.down()
        records += _records(found, ["cpython"], labels, {})
        mp = {v: os.path.join(TOOLS, "micropython-" + v) for v in ("1.23.0", "1.28.0")}
        if not os.access(mp["1.23.0"], os.X_OK):
            records += [skipped(rid("8a", key), "one-shot apply switching PPTP off, OpenWrt "
                                "router, " + labels[key] + " (wall)", "ms",
                                "no " + mp["1.23.0"], TARGETS.get(key))
                        for key in ("1.23.0", "1.28.0")]
            return records
        router = Router(base, ["--micropython", mp["1.23.0"]])
        try:
            router.install(env.bytecode.ipks["vpnpassthrough-micro"])
            cases = [_fw4(), _apply("1.23.0")] + _pieces(["micropython"])
            names = ["1.23.0"]
            if os.access(mp["1.28.0"], os.X_OK):
                folder = ALT_BIN.format("1.28.0")
                router.tool("copy-in", router.name, mp["1.28.0"], folder + "/micropython")
                cases.append(_apply("1.28.0", {"PATH": folder + ":/usr/sbin:/usr/bin:/sbin:"
                                                           "/bin"}))
                names.append("1.28.0")
            found = _time(router, cases, rounds)
        finally:
            router.down()
        note = {"1.23.0": "/usr/bin/micropython is 1.23.0, as OpenWrt 24.10 and 25.12 ship it",
                "1.28.0": "the same router's launcher with MicroPython 1.28.0 first on PATH"}
        records += _records(found, names, labels, note)
        if "1.28.0" not in names:
            records.append(skipped(rid("8a", "1.28.0"), "one-shot apply switching PPTP off, "
                                   "OpenWrt router, MicroPython 1.28.0 (wall)", "ms",
                                   "no " + mp["1.28.0"]))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return records
