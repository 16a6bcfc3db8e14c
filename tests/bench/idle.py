"""Figure 7: the idle daemon: its resident memory and how often it wakes.

Every variant runs at once, each in a router namespace of its own (a daemon follows its own
table, so two in one namespace would fight over it): CPython with ctypes (inotify), CPython
without ctypes (OpenWrt's python3-light alone: a stat every 0.5 s), each MicroPython with
ffi (inotify through libc), and PyPI's MicroPython, which has no ffi (a stat every 0.5 s).
After each has applied and settled, the voluntary context switches of all its threads
(/proc/PID/task/*/status) are read at the start and the end of one idle window: each is a
wake from a wait. Nothing happens in those namespaces meanwhile. RSS is VmRSS at the end;
the anchor is the same interpreter running nothing (its VmHWM).
"""

import os
import subprocess
import time

import measure
import probes
from lab import ALL_ON, L2TP_OFF, Lab
from reaction import no_ctypes_env
from report import figure, rid

WAKEUP_TARGET = ("max", 12)  # per minute, where inotify is available
RSS_TARGETS = {"cpython": ("max", 12 * 1024), "1.23.0": ("max", 3 * 1024)}  # KiB
START_S = 15
SETTLE_S = 2
APPLY_S = 5  # bound for one commit to be applied (the stat tick is 0.5 s)


def _switches(pid):
    voluntary = involuntary = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
    return voluntary, involuntary


def _status(pid, keys=("VmRSS", "VmHWM", "RssAnon", "RssFile")):
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in keys:
                found[key] = int(value.split()[0])
    return found


def _inotify_fds(pid):
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                count += 1
        except OSError:
            pass
    return count


def _applies(daemons, count):
    """Commits that each change the table, every daemon applying each in turn: what its
    memory does over its life, not only after its start."""
    for i in range(count):
        seen = []
        for _runtime, _variant, agent, _proc in daemons:
            state = os.path.join(agent.state_dir, "state.json")
            seen.append(os.stat(state).st_mtime_ns)
            agent.commit(L2TP_OFF if i % 2 == 0 else ALL_ON)
        deadline = time.monotonic() + APPLY_S
        for (runtime, _variant, agent, _proc), before in zip(daemons, seen, strict=True):
            state = os.path.join(agent.state_dir, "state.json")
            while os.stat(state).st_mtime_ns == before and time.monotonic() < deadline:
                time.sleep(0.02)
            if os.stat(state).st_mtime_ns == before:
                raise RuntimeError(f"the {runtime.label} daemon did not apply a commit")


def _variants(env):
    found = [(env.cpython, None)]
    found += [(runtime, None) for runtime in env.micropythons if runtime is not env.pypi]
    found.append((env.cpython, "no inotify"))
    if env.pypi:
        found.append((env.pypi, None))
    return found


def run(env, params):
    window_s = params["idle_window_s"]
    labs, daemons = [], []
    try:
        for runtime, variant in _variants(env):
            lab = Lab(env, twin=False)
            labs.append(lab)
            agent = lab.agent("idle-" + runtime.key, runtime)
            agent.commit(ALL_ON)
            extra = no_ctypes_env(agent, os.path.join(lab.scratch, "no-ctypes")) \
                if variant else {}
            proc = measure.start(agent.argv("daemon"), ns=lab.router.name,
                                 env=dict(agent.env, **extra), stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            daemons.append((runtime, variant, agent, proc))
        deadline = time.monotonic() + START_S
        for runtime, _variant, agent, proc in daemons:
            state = os.path.join(agent.state_dir, "state.json")
            while not os.path.exists(state) and time.monotonic() < deadline:
                time.sleep(0.05)
            if proc.poll() is not None or not os.path.exists(state):
                raise RuntimeError(f"the {runtime.label} daemon did not start and apply")
        time.sleep(SETTLE_S)
        before = [(_switches(proc.pid), time.monotonic()) for *_rest, proc in daemons]
        time.sleep(window_s)
        after = [(_switches(proc.pid), time.monotonic()) for *_rest, proc in daemons]
        memory = [_status(proc.pid) for *_rest, proc in daemons]
        inotify = [_inotify_fds(proc.pid) for *_rest, proc in daemons]
        _applies(daemons, params["daemon_applies"])
        later = [_status(proc.pid) for *_rest, proc in daemons]
        alive = [proc.poll() is None for *_rest, proc in daemons]
    finally:
        for *_rest, proc in daemons:
            measure.stop(proc)
        for lab in labs:
            lab.close()
    empty = {}
    records = []
    for i, (runtime, variant, _agent, _proc) in enumerate(daemons):
        if runtime.key not in empty:
            empty[runtime.key] = [probes.peak(runtime, [], agent=False)["own"]
                                  for _ in range(params["memory_rounds"])]
        (v0, n0), t0 = before[i]
        (v1, n1), t1 = after[i]
        minutes = (t1 - t0) / 60.0
        key = runtime.key + ("-noinotify" if variant else "")
        label = runtime.label + (" without ctypes" if variant else "")
        expected = variant is None and runtime is not env.pypi
        watching = "inotify" if inotify[i] else "no inotify: a stat every 0.5 s"
        error = None if alive[i] else "the daemon exited during the idle window"
        if expected and not inotify[i]:
            error = "no inotify watch, although this interpreter can have one"
        detail = {"window_s": round(t1 - t0, 1), "voluntary": v1 - v0,
                  "involuntary": n1 - n0, "inotify_fds": inotify[i], "VmHWM": memory[i]["VmHWM"],
                  # file-backed pages (libc, libm, ld.so, the interpreter) are shared ones
                  "RssAnon": memory[i]["RssAnon"], "RssFile": memory[i]["RssFile"]}
        records.append(figure(rid("7a", key), "RSS of the idle daemon, " + label, "KiB",
                              [memory[i]["VmRSS"]], "interpreter running nothing",
                              empty[runtime.key],
                              None if variant else RSS_TARGETS.get(runtime.key), detail=detail,
                              error=error))
        records.append(figure(rid("7c", key), "RSS of the daemon after {} more applies, {}".format(
            params["daemon_applies"], label), "KiB", [later[i]["VmRSS"]],
            "interpreter running nothing", empty[runtime.key], detail={
                "RssAnon": later[i]["RssAnon"], "RssFile": later[i]["RssFile"]}, error=error))
        records.append(figure(rid("7b", key), f"idle daemon wakeups per minute, {label} "
                              f"({watching})", "/min", [(v1 - v0) / minutes], None, None,
                              WAKEUP_TARGET if expected else None, detail=detail,
                              error=error))
    return sorted(records, key=lambda r: r["id"][:2])
