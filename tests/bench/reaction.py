"""Figure 1: from a committed config change to the new table being in force.

The anchor is the floor: a bare `nft -f` of the identical ruleset file, making the same
transition in the same namespace, timed right before each agent run. The change measured is
L2TP passthrough switched off and on again (off also looks for live L2TP flows to cut, as
`cut_on_disable` asks, after the table is in force); the JSON keeps the two directions apart.

"In force" is when `nft monitor` reports the end of the transaction. A bare `nft -f` process
lives well past that point (closing its netlink socket takes the kernel ~10 ms here), so each
figure is held against the floor measured the same way: in-force figures against the floor's
in-force time, wall-clock figures (and the no-op, which must not run nft at all) against its
wall time.
"""

import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time

import measure
from lab import ALL_ON, HERE, L2TP_OFF, RUNTIMES, interpreter
from netns import AGENT
from report import figure

CONFIGS = {"on": ALL_ON, "off": L2TP_OFF}
FLOOR = "bare nft -f"
FLOOR_IN_FORCE = "bare nft -f, in force"
RESIDENT_TARGET = ("max_ratio", 1.5)
NOOP_TARGET = ("max_ratio", 0.3)
# how -> id and name of its change figure, its target, id and name of its no-op figure
KINDS = {
    "resident": ("1a''", "commit -> in force, apply inside the running agent",
                 RESIDENT_TARGET, "1d''", "apply inside the running agent, nothing changed"),
    "cpython": ("1b", "one-shot apply of a change, CPython (wall)", ("max", 150),
                "1d", "one-shot apply, nothing changed, CPython"),
    "micropython": ("1c", "one-shot apply of a change, MicroPython (wall)", ("max", 60),
                    "1d'", "one-shot apply, nothing changed, MicroPython"),
}
DAEMON_MODULE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "agent", "vpnpassthrough",
                             "daemon.py")
GENERATION_TIMEOUT_S = 5


class Generations:
    """`nft monitor` in one namespace; a thread notes when each transaction's end arrives, so
    the time is right even while this process is busy applying."""

    def __init__(self, ns):
        self.proc = measure.start(["nft", "monitor"], ns=ns, stdout=subprocess.PIPE)
        self.ends = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        # Proves the monitor is subscribed before anything is measured (bounded: 5 s).
        for _ in range(25):
            for verb in ("add", "delete"):
                measure.run(["nft", verb, "table", "netdev", "bench_probe"], ns=ns).check("probe")
            if self.next(0.2) is not None:
                self.drain(0.1)
                return
        self.close()
        raise RuntimeError(f"nft monitor in {ns} saw no transaction")

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith(b"# new generation"):
                self.ends.put(time.perf_counter())

    def next(self, timeout):
        """When the next transaction ended (perf_counter), or None if none came in time."""
        try:
            return self.ends.get(timeout=timeout)
        except queue.Empty:
            return None

    def expect(self, what):
        done = self.next(GENERATION_TIMEOUT_S)
        if done is None:
            raise RuntimeError(f"no nft transaction within {GENERATION_TIMEOUT_S} s: {what}")
        return done

    def drain(self, quiet_s):
        """How many transactions arrived until none came for quiet_s."""
        seen = 0
        while self.next(quiet_s) is not None:
            seen += 1
        return seen

    def close(self):
        measure.stop(self.proc)
        self.reader.join(GENERATION_TIMEOUT_S)
        self.proc.stdout.close()


def nft_f(lab, path, monitor):
    """The floor: one bare `nft -f`, as (wall ms, in-force ms)."""
    run = measure.run(["nft", "-f", path], ns=lab.router.name).check("nft -f " + path)
    in_force = monitor.expect("nft -f " + path) - run.started
    return run.ms, in_force * 1000.0


def _engine():
    """The agent's apply, imported into this process: what the resident agent runs on a wake."""
    sys.path.insert(0, AGENT)
    from vpnpassthrough import engine

    return engine


def _applier(lab, agent, how):
    """A function applying once and returning whether it changed anything: a one-shot CLI
    process under runtime `how`, or (how == "resident") the engine called in this process."""
    if how == "resident":
        engine = _engine()

        def apply():
            with measure.inside(lab.router.name):
                outcome = engine.apply(agent.config_dir, agent.state_dir)
            if not outcome["ok"]:
                raise RuntimeError(f"engine.apply failed: {outcome}")
            return outcome["changed"]
    else:
        def apply():
            run = agent.run(how, "apply").check(how + " apply")
            return '"changed": true' in run.out
    return apply


def _timed(apply, changes):
    """(start, end) perf_counter times of one apply that must change, or not, the table."""
    start = time.perf_counter()
    changed = apply()
    end = time.perf_counter()
    if changed != changes:
        raise RuntimeError(f"an apply expected to change {changes} reported changed={changed}")
    return start, end


def reactions(lab, how, rounds):
    """Figures 1a''/1b/1c (a change) and 1d (nothing changed) for one way of applying."""
    agent = lab.agent("apply-" + how)
    files = {state: agent.ruleset_file(options, state) for state, options in CONFIGS.items()}
    agent.commit(ALL_ON)
    apply = _applier(lab, agent, how)
    monitor = Generations(lab.router.name)
    try:
        _timed(apply, True)
        monitor.expect("first apply")
        state = "on"
        floor, wall, in_force = [], [], []
        by_direction = {"on": [], "off": []}
        for _ in range(rounds):
            new = "off" if state == "on" else "on"
            floor.append(nft_f(lab, files[new], monitor))
            nft_f(lab, files[state], monitor)  # back to the table the agent has on record
            agent.commit(CONFIGS[new])
            start, end = _timed(apply, True)
            in_force.append((monitor.expect(how + " apply") - start) * 1000.0)
            wall.append((end - start) * 1000.0)
            by_direction[new].append(wall[-1])
            state = new
        noop_floor, noops, transactions = [], [], 0
        for _ in range(rounds):
            noop_floor.append(nft_f(lab, files[state], monitor)[0])
            start, end = _timed(apply, False)
            noops.append((end - start) * 1000.0)
            transactions += monitor.drain(0.05)
    finally:
        monitor.close()
    floor_wall = [wall_ms for wall_ms, _ in floor]
    floor_in_force = [in_force_ms for _, in_force_ms in floor]
    detail = {"wall": measure.summary(wall), "in_force": measure.summary(in_force),
              "floor_wall": measure.summary(floor_wall),
              "floor_in_force": measure.summary(floor_in_force),
              "wall_switch_off": measure.summary(by_direction["off"]),
              "wall_switch_on": measure.summary(by_direction["on"])}
    if how in RUNTIMES:
        start = [measure.run(interpreter(how) + ["-c", "pass"], ns=lab.router.name).ms
                 for _ in range(rounds)]
        detail["interpreter_start"] = measure.summary(start)
    fid, name, target, noop_fid, noop_name = KINDS[how]
    if how == "resident":
        change = figure(fid, name, "ms", in_force, FLOOR_IN_FORCE, floor_in_force, target,
                        detail=detail)
    else:
        change = figure(fid, name, "ms", wall, FLOOR, floor_wall, target, detail=detail)
    return (change,
            figure(noop_fid, noop_name, "ms", noops, FLOOR, noop_floor, NOOP_TARGET,
                   detail={"nft_transactions": transactions,
                           "interpreter_start": detail.get("interpreter_start")},
                   error=f"{transactions} nft transaction(s) in {rounds} no-op applies"
                   if transactions else None))


def resident(lab, rounds):
    """Figure 1a: the daemon, woken by its watch of the committed file and by SIGHUP."""
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
            samples, floors = _daemon_rounds(lab, agent, files, monitor, daemon, log, rounds)
        finally:
            measure.stop(daemon)
            monitor.close()
    note = ("inotify on the config directory and SIGHUP wake the daemon at once (its stat every "
            f"{_daemon_tick()} s is the safety net); once awake its apply costs what 1a'' shows")
    return [figure("1a", "commit -> in force, resident agent (file watch)", "ms",
                   samples["watch"], FLOOR_IN_FORCE, floors["watch"], RESIDENT_TARGET,
                   note=note),
            figure("1a'", "commit + SIGHUP -> in force, resident agent", "ms", samples["hup"],
                   FLOOR_IN_FORCE, floors["hup"], RESIDENT_TARGET)]


def _daemon_rounds(lab, agent, files, monitor, daemon, log, rounds):
    """Commits noticed by the file watch, then signalled by SIGHUP, each after its floor."""
    state = "on"
    samples = {"watch": [], "hup": []}
    floors = {"watch": [], "hup": []}
    for how in ["watch"] * rounds + ["hup"] * rounds:
        new = "off" if state == "on" else "on"
        # The daemon's nft lives on after its commit (see above) and would slow the floor's.
        time.sleep(0.2)
        floors[how].append(nft_f(lab, files[new], monitor)[1])
        nft_f(lab, files[state], monitor)
        # A random phase against the daemon's poll, as a user's commit would have.
        time.sleep(random.uniform(0.05, 1.2))
        if monitor.drain(0) or daemon.poll() is not None:
            raise RuntimeError("the daemon applied without a change, or exited: " + _log(log))
        agent.commit(CONFIGS[new])
        start = time.perf_counter()
        if how == "hup":
            daemon.send_signal(signal.SIGHUP)
        done = monitor.next(GENERATION_TIMEOUT_S)
        if done is None:
            raise RuntimeError("the daemon did not apply a commit: " + _log(log))
        samples[how].append((done - start) * 1000.0)
        state = new
    return samples, floors


def _daemon_tick():
    with open(DAEMON_MODULE) as f:
        found = re.search(r"^TICK_S = ([0-9.]+)", f.read(), re.MULTILINE)
    return found.group(1) if found else "?"


def _log(log):
    log.seek(0)
    return log.read()[-2000:]


def run(lab, rounds, resident_rounds):
    records = resident(lab, resident_rounds)
    noops = []
    for how in KINDS:
        change, noop = reactions(lab, how, rounds)
        records.append(change)
        noops.append(noop)
    return records + noops
