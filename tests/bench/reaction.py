"""Figure 1: from a committed config change to the new table being in force.

The anchor is the floor: a bare `nft -f` of the identical ruleset file, making the same
transition in the same namespace, timed right before each agent run. The change measured is
L2TP passthrough switched off and on again (off also looks for live L2TP flows to cut, as
`cut_on_disable` asks); the JSON keeps the two directions apart.
"""

import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time

import measure
from lab import ALL_ON, HERE, L2TP_OFF, RUNTIMES, interpreter
from netns import AGENT
from report import figure, pending

CONFIGS = {"on": ALL_ON, "off": L2TP_OFF}
FLOOR = "bare nft -f"
RESIDENT_TARGET = ("max_ratio", 1.5)
NOOP_TARGET = ("max_ratio", 0.3)
# how -> id and name of its change figure, target, id and name of its no-op figure
KINDS = {
    "cpython": ("1b", "one-shot apply of a change, CPython", ("max", 150),
                "1d", "one-shot apply, nothing changed, CPython"),
    "micropython": ("1c", "one-shot apply of a change, MicroPython", ("max", 60),
                    "1d'", "one-shot apply, nothing changed, MicroPython"),
    "resident": ("1a''", "apply of a change inside the running agent", RESIDENT_TARGET,
                 "1d''", "apply inside the running agent, nothing changed"),
}
DAEMON_MODULE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "agent", "vpnpassthrough",
                             "daemon.py")
GENERATION_TIMEOUT_S = 5


class Generations:
    """`nft monitor` in one namespace: the moment each nft transaction there is committed."""

    def __init__(self, ns):
        self.ns = ns
        self.proc = measure.start(["nft", "monitor"], ns=ns, stdout=subprocess.PIPE, bufsize=0)
        self.pending = b""
        # Proves the monitor is subscribed before anything is measured (bounded: 5 s).
        for _ in range(25):
            for verb in ("add", "delete"):
                measure.run(["nft", verb, "table", "netdev", "bench_probe"], ns=ns).check("probe")
            if self.next(0.2) is not None:
                self.count(0.1)
                return
        self.close()
        raise RuntimeError(f"nft monitor in {ns} saw no transaction")

    def next(self, timeout):
        """perf_counter time at which the next transaction's end was read, or None."""
        deadline = time.perf_counter() + timeout
        while True:
            line, _, rest = self.pending.partition(b"\n")
            if _:
                self.pending = rest
                if line.startswith(b"# new generation"):
                    return time.perf_counter()
                continue
            left = deadline - time.perf_counter()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.pending += chunk

    def count(self, quiet_s):
        """Transactions seen until none came for quiet_s."""
        seen = 0
        while self.next(quiet_s) is not None:
            seen += 1
        return seen

    def close(self):
        measure.stop(self.proc)
        self.proc.stdout.close()


def nft_f(lab, path):
    return measure.run(["nft", "-f", path], ns=lab.router.name).check("nft -f " + path)


def _engine():
    """The agent's apply, imported into this process: what the resident agent runs on a wake."""
    sys.path.insert(0, AGENT)
    from vpnpassthrough import engine

    return engine


def _applier(lab, agent, how):
    """A function applying once, returning (ms, changed): a one-shot CLI process under the
    runtime `how`, or (how == "resident") the engine called inside this running process."""
    if how == "resident":
        engine = _engine()

        def apply():
            with measure.inside(lab.router.name):
                start = time.perf_counter()
                outcome = engine.apply(agent.config_dir, agent.state_dir)
                ms = (time.perf_counter() - start) * 1000.0
            if not outcome["ok"]:
                raise RuntimeError(f"engine.apply failed: {outcome}")
            return ms, outcome["changed"]
    else:
        def apply():
            run = agent.run(how, "apply").check(how + " apply")
            return run.ms, json.loads(run.out)["changed"]
    return apply


def _checked(apply, changes):
    ms, changed = apply()
    if changed != changes:
        raise RuntimeError(f"an apply expected to change {changes} reported changed={changed}")
    return ms


def reactions(lab, how, rounds):
    """Figures 1b/1c/1a'' (a change) and 1d (nothing changed) for one way of applying."""
    agent = lab.agent("apply-" + how)
    files = {state: agent.ruleset_file(options, state) for state, options in CONFIGS.items()}
    agent.commit(ALL_ON)
    apply = _applier(lab, agent, how)
    _checked(apply, True)
    state = "on"
    floor, changes, by_direction = [], [], {"on": [], "off": []}
    for _ in range(rounds):
        new = "off" if state == "on" else "on"
        floor.append(nft_f(lab, files[new]).ms)
        nft_f(lab, files[state])  # back to the table the agent has on record
        agent.commit(CONFIGS[new])
        ms = _checked(apply, True)
        changes.append(ms)
        by_direction[new].append(ms)
        state = new
    noop_floor, noops = [], []
    for _ in range(rounds):
        noop_floor.append(nft_f(lab, files[state]).ms)
        noops.append(_checked(apply, False))
    monitor = Generations(lab.router.name)
    try:
        for _ in range(3):
            _checked(apply, False)
        noop_transactions = monitor.count(0.2)
    finally:
        monitor.close()
    detail = {"switch_off": measure.summary(by_direction["off"]),
              "switch_on": measure.summary(by_direction["on"])}
    if how in RUNTIMES:
        start = [measure.run(interpreter(how) + ["-c", "pass"], ns=lab.router.name).ms
                 for _ in range(rounds)]
        detail["interpreter_start"] = measure.summary(start)
    fid, name, target, noop_fid, noop_name = KINDS[how]
    return (figure(fid, name, "ms", changes, FLOOR, floor, target, detail=detail),
            figure(noop_fid, noop_name, "ms", noops, FLOOR, noop_floor, NOOP_TARGET,
                   detail={"nft_transactions_in_3_noop_applies": noop_transactions,
                           "interpreter_start": detail.get("interpreter_start")}))


def resident(lab, rounds):
    """Figure 1a: the daemon, woken by its watch of the committed file and by SIGHUP.

    Returns the figures and the idle daemon's memory (for figure 4), or pending figures when
    the daemon is not there yet.
    """
    if not os.path.exists(DAEMON_MODULE):
        why = "no agent/vpnpassthrough/daemon.py in this tree yet"
        return [pending("1a", "commit -> in force, resident agent (file watch)", "ms", why,
                        RESIDENT_TARGET),
                pending("1a'", "commit + SIGHUP -> in force, resident agent", "ms", why,
                        RESIDENT_TARGET)], None
    agent = lab.agent("daemon")
    files = {state: agent.ruleset_file(options, state) for state, options in CONFIGS.items()}
    agent.commit(ALL_ON)
    monitor = Generations(lab.router.name)
    with open(os.path.join(lab.scratch, "daemon.log"), "w+") as log:
        daemon = measure.start(agent.argv("cpython", "daemon"), ns=lab.router.name,
                               env=agent.env, stdout=log, stderr=subprocess.STDOUT)
        try:
            if monitor.next(10) is None:
                raise RuntimeError("the daemon applied nothing at start: " + _log(log))
            samples, floors, in_daemon = _daemon_rounds(lab, agent, files, monitor, daemon,
                                                        log, rounds)
            time.sleep(1.5)
            idle = _memory(daemon.pid)
            if daemon.poll() is not None:
                raise RuntimeError("the daemon exited: " + _log(log))
        finally:
            measure.stop(daemon)
            monitor.close()
    own = measure.summary(in_daemon["watch"] + in_daemon["hup"])["median"]
    floor = measure.summary(floors["watch"] + floors["hup"])["median"]
    note = (f"the daemon looks every {_daemon_tick()} s, also after SIGHUP; the apply itself "
            f"(the engine's own ms) takes {own:.0f} ms, {own / floor:.2f}x the floor")
    return [figure("1a", "commit -> in force, resident agent (file watch)", "ms",
                   samples["watch"], FLOOR, floors["watch"], RESIDENT_TARGET, note=note,
                   detail={"apply_ms_in_daemon": measure.summary(in_daemon["watch"])}),
            figure("1a'", "commit + SIGHUP -> in force, resident agent", "ms", samples["hup"],
                   FLOOR, floors["hup"], RESIDENT_TARGET,
                   detail={"apply_ms_in_daemon": measure.summary(in_daemon["hup"])})], idle


def _daemon_rounds(lab, agent, files, monitor, daemon, log, rounds):
    """Commits woken up by the file watch, then by SIGHUP, each after its floor was taken."""
    state = "on"
    samples = {"watch": [], "hup": []}
    floors = {"watch": [], "hup": []}
    in_daemon = {"watch": [], "hup": []}
    for how in ["watch"] * rounds + ["hup"] * rounds:
        new = "off" if state == "on" else "on"
        floors[how].append(nft_f(lab, files[new]).ms)
        nft_f(lab, files[state])
        if monitor.count(0.05) != 2:
            raise RuntimeError("unexpected transactions around the anchor: " + _log(log))
        # A random phase against the daemon's poll, as a user's commit would have.
        time.sleep(random.uniform(0.05, 1.2) if how == "watch" else 0.05)
        before = _record_stamp(agent)
        agent.commit(CONFIGS[new])
        start = time.perf_counter()
        if how == "hup":
            daemon.send_signal(signal.SIGHUP)
        done = monitor.next(GENERATION_TIMEOUT_S)
        if done is None:
            raise RuntimeError("the daemon did not apply a committed change within "
                               f"{GENERATION_TIMEOUT_S} s: {_log(log)}")
        samples[how].append((done - start) * 1000.0)
        in_daemon[how].append(_recorded_ms(agent, before))
        state = new
    return samples, floors, in_daemon


def _daemon_tick():
    with open(DAEMON_MODULE) as f:
        found = re.search(r"^TICK_S = ([0-9.]+)", f.read(), re.MULTILINE)
    return found.group(1) if found else "?"


def _record_stamp(agent):
    try:
        return os.stat(os.path.join(agent.state_dir, "state.json")).st_mtime_ns
    except OSError:
        return None


def _recorded_ms(agent, before):
    """The engine's own duration of the apply that followed a commit, from its record."""
    deadline = time.monotonic() + GENERATION_TIMEOUT_S
    while _record_stamp(agent) == before and time.monotonic() < deadline:
        time.sleep(0.005)
    with open(os.path.join(agent.state_dir, "state.json")) as f:
        return json.load(f)["last"]["ms"]


def _log(log):
    log.seek(0)
    return log.read()[-2000:]


def _memory(pid):
    """{VmRSS, VmHWM} in KiB of a live process."""
    found = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


def run(lab, rounds, resident_rounds):
    """All of figure 1; also the idle daemon's memory, for figure 4."""
    records, idle = resident(lab, resident_rounds)
    noops = []
    for how in ("resident",) + RUNTIMES:
        change, noop = reactions(lab, how, rounds)
        records.append(change)
        noops.append(noop)
    return records + noops, idle
