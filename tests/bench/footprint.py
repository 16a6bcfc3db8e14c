"""Figure 4: how small. Peak memory of the one-shot apply; the packages' installed size.

Memory is the agent process's own high-water mark (VmHWM, read at its end): GNU time's figure
is that of the largest process in the tree, which for MicroPython is the nft it runs (GNU
time's is in the detail). The anchor is the same interpreter doing nothing, measured the same
way: the difference is what the agent itself costs. MicroPython's GC heap peak
(micropython.mem_info) is the agent's own share of it, host-independent. The idle daemon's
memory is figure 7.
"""

import glob
import gzip
import io
import os
import tarfile

import measure
import probes
from lab import ALL_ON, HERE, L2TP_OFF
from report import figure, rid

REPO = os.path.dirname(os.path.dirname(HERE))
MICROPYTHON_RSS_TARGET = ("max", 4096)
PACKAGE_TARGET = ("max", 64)
IDLE = "interpreter running nothing"


def _peaks(lab, runtime, rounds):
    """Own peak RSS of one-shot applies that each change the table, and of the idle
    interpreter; GNU time's (the largest of the tree) for the applies."""
    agent = lab.agent("memory-" + runtime.key, runtime)
    applies, trees = [], []
    for i in range(rounds):
        agent.commit(L2TP_OFF if i % 2 else ALL_ON)
        found = probes.peak(runtime, ["apply"], ns=lab.router.name, env=agent.env)
        applies.append(found["own"])
        trees.append(found["with_children"])
    empty = [probes.peak(runtime, [], agent=False)["own"] for _ in range(rounds)]
    return applies, trees, empty


def _heap_peaks(lab, runtime, rounds):
    """MicroPython GC heap peak of applies that change the table, and of an empty one."""
    agent = lab.agent("heap-" + runtime.key, runtime)
    peaks = []
    for i in range(rounds):
        agent.commit(L2TP_OFF if i % 2 else ALL_ON)
        peaks.append(probes.heap_peak_kib(runtime, ["apply"], ns=lab.router.name,
                                          env=agent.env))
    return peaks, [probes.heap_peak_kib(runtime, None)]


def memory(lab, env, rounds):
    records = []
    for runtime in env.runtimes:
        applies, trees, empty = _peaks(lab, runtime, rounds)
        added = measure.summary(applies)["median"] - measure.summary(empty)["median"]
        note = f"the agent adds {added:.0f} KiB to the idle interpreter"
        if runtime is env.pypi:
            note += ("; this MicroPython is embedded in a CPython process, so its RSS is "
                     "CPython's")
        records.append(figure(rid("4a" if runtime.kind == "cpython" else "4b", runtime),
                              "peak RSS, one-shot apply, " + runtime.label, "KiB", applies,
                              IDLE, empty,
                              MICROPYTHON_RSS_TARGET if runtime.micropython else None,
                              note=note, detail={"largest_in_tree": measure.summary(trees)}))
    for runtime in env.micropythons:
        heap, heap_empty = _heap_peaks(lab, runtime, rounds)
        records.append(figure(rid("4c", runtime), "MicroPython GC heap peak, one-shot apply, "
                              + runtime.label, "KiB", heap, "empty interpreter", heap_empty))
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


def package_size(env):
    """Figure 4e per package: bytes of the files it installs, from what `make ipk` builds."""
    sources_kib = _source_bytes() / 1024.0
    name = "installed size of the packages"
    if env.bytecode.error:
        return [figure("4e", name, "KiB", [], target=PACKAGE_TARGET, error=env.bytecode.error)]
    records = []
    for index, package in enumerate(sorted(env.bytecode.ipks)):
        path = env.bytecode.ipks[package]
        files, data_tar_bytes = _ipk_contents(path)
        installed = sum(size for _name, size in files) / 1024.0
        records.append(figure("4e" + "'" * index, "installed size, " + package, "KiB",
                              [installed], "agent .py sources", [sources_kib], PACKAGE_TARGET,
                              detail={"ipk_bytes": os.path.getsize(path),
                                      "installed_size_field": data_tar_bytes,
                                      "files": len(files)}))
    return records
