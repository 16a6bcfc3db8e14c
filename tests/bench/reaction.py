"""Figure 1: from a committed config change to the new table being in force.

The anchor is the floor: a bare `nft -f` of the identical ruleset file, making the same
transition, timed right before each agent run in the lab's twin router (the agent follows its
own table and would put it back if an anchor replaced it under its feet). The change measured
is L2TP passthrough switched off and on again (off also looks for live L2TP flows to cut, as
`cut_on_disable` asks, after the table is in force); the JSON keeps the two directions apart.

"In force" is when `nft monitor` reports the end of the transaction. A bare `nft -f` process
lives well past that point (closing its netlink socket takes the kernel ~10 ms here), so each
figure is held against the floor measured the same way: in-force figures against the floor's
in-force time, wall-clock figures (and the no-op, which must not run nft at all) against its
wall time.

The resident agent is measured on CPython (inotify through ctypes, and SIGHUP), on each
MicroPython (inotify through ffi; MicroPython cannot catch SIGHUP) and on CPython without
ctypes (python3-light as OpenWrt ships it: no inotify, a stat every 0.5 s).
"""

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time

import measure
from lab import AGENT, ALL_ON, L2TP_OFF
from report import figure, rid

CONFIGS = {"on": ALL_ON, "off": L2TP_OFF}
FLOOR = "bare nft -f"
FLOOR_IN_FORCE = "bare nft -f, in force"
RESIDENT_TARGET = ("max_ratio", 1.5)
NOOP_TARGET = ("max_ratio", 0.3)
ONE_SHOT_TARGET = {"cpython": ("max", 150), "micropython": ("max", 60)}
GENERATION_TIMEOUT_S = 5
NO_CTYPES = "raise ImportError('python3-ctypes is not installed')\n"


class Generations:
    """`nft monitor` in one namespace; a thread notes when each transaction's end arrives, so
    the time is right even while this process is busy applying."""

    def __init__(self, ns):
        self.ns = ns
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


class Floor:
    """Bare `nft -f` runs in the twin router, each a transition between the two tables."""

    def __init__(self, lab, files):
        self.lab = lab
        self.files = files
        self.monitor = Generations(lab.twin.name)
        self.state = None

    def to(self, state):
        """Load table `state` (untimed)."""
        self._load(state)

    def measure(self, new):
        """(wall ms, in-force ms) of one transition to `new`, then back (untimed)."""
        old = self.state
        found = self._load(new)
        if old is not None:
            self._load(old)
        return found

    def _load(self, state):
        run = measure.run(["nft", "-f", self.files[state]], ns=self.lab.twin.name).check(
            "nft -f " + self.files[state])
        in_force = self.monitor.expect("nft -f " + self.files[state]) - run.started
        self.state = state
        return run.ms, in_force * 1000.0

    def close(self):
        self.monitor.close()


def _engine():
    """The agent's apply, imported into this process: what the resident agent runs on a wake."""
    if AGENT not in sys.path:
        sys.path.insert(0, AGENT)
    from vpnpassthrough import engine

    return engine


class Children:
    """The commands the in-process engine runs, timed: where its apply spends its time."""

    def __init__(self):
        from vpnpassthrough import system

        self.system = system
        self.original = system._run
        self.times = {}
        self.recording = False
        system._run = self._run

    def _run(self, argv, stdin):
        start = time.perf_counter()
        try:
            return self.original(argv, stdin)
        finally:
            if self.recording:
                name = " ".join(argv[:3]) if argv[0] != "flock" else "flock nft -f (fw4 lock)"
                self.times.setdefault(name, []).append((time.perf_counter() - start) * 1000.0)

    def summary(self, rounds):
        """Median ms per command, and how many times each ran per apply."""
        return {name: {"ms": measure.summary(values)["median"], "per_apply": len(values) /
                       rounds} for name, values in self.times.items()}

    def close(self):
        self.system._run = self.original


def _applier(lab, agent, resident):
    """A function applying once and returning whether it changed anything: a one-shot CLI
    process, or (resident) the engine called in this process."""
    if resident:
        engine = _engine()
        ctx = agent.ctx()

        def apply():
            with measure.inside(lab.router.name):
                outcome = engine.apply(ctx)
            if not outcome["ok"]:
                raise RuntimeError(f"engine.apply failed: {outcome}")
            return outcome["changed"]
    else:
        def apply():
            run = agent.run("apply").check(agent.runtime.label + " apply")
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


def _files(agent):
    return {state: agent.ruleset_file(options, state) for state, options in CONFIGS.items()}


def reactions(lab, runtime, rounds):
    """One-shot apply of a change (1b/1c) and of nothing (1d) on one runtime, or (runtime
    None) the apply inside a running agent (1a''/1d'')."""
    resident = runtime is None
    agent = lab.agent("apply-" + (runtime.key if runtime else "resident"), runtime)
    files = _files(agent)
    agent.commit(ALL_ON)
    apply = _applier(lab, agent, resident)
    children = Children() if resident else None
    floor = Floor(lab, files)
    monitor = Generations(lab.router.name)
    try:
        floor.to("on")
        _timed(apply, True)
        monitor.expect("first apply")
        state = "on"
        if children:
            children.recording = True
        floor_wall, floor_in_force, wall, in_force = [], [], [], []
        by_direction = {"on": [], "off": []}
        for _ in range(rounds):
            new = "off" if state == "on" else "on"
            floor_ms = floor.measure(new)
            floor_wall.append(floor_ms[0])
            floor_in_force.append(floor_ms[1])
            agent.commit(CONFIGS[new])
            start, end = _timed(apply, True)
            in_force.append((monitor.expect("apply") - start) * 1000.0)
            wall.append((end - start) * 1000.0)
            by_direction[new].append(wall[-1])
            floor.to(new)
            state = new
        if children:
            children.recording = False
        noop_floor, noops, transactions = [], [], 0
        for _ in range(rounds):
            noop_floor.append(floor.measure("off" if state == "on" else "on")[0])
            start, end = _timed(apply, False)
            noops.append((end - start) * 1000.0)
            transactions += monitor.drain(0.05)
    finally:
        monitor.close()
        floor.close()
        if children:
            children.close()
    detail = {"wall": measure.summary(wall), "in_force": measure.summary(in_force),
              "floor_wall": measure.summary(floor_wall),
              "floor_in_force": measure.summary(floor_in_force),
              "wall_switch_off": measure.summary(by_direction["off"]),
              "wall_switch_on": measure.summary(by_direction["on"])}
    if resident:
        detail["commands_per_change"] = children.summary(rounds)
    else:
        start = [measure.run(runtime.bare() + ["-c", "pass"], ns=lab.router.name).ms
                 for _ in range(rounds)]
        detail["interpreter_start"] = measure.summary(start)
    noop_error = (f"{transactions} nft transaction(s) in {rounds} no-op applies"
                  if transactions else None)
    noop_detail = {"nft_transactions": transactions,
                   "interpreter_start": detail.get("interpreter_start")}
    if resident:
        return (figure("1a''", "commit -> in force, apply inside the running agent", "ms",
                       in_force, FLOOR_IN_FORCE, floor_in_force, RESIDENT_TARGET,
                       detail=detail),
                figure("1d''", "apply inside the running agent, nothing changed", "ms", noops,
                       FLOOR, noop_floor, NOOP_TARGET, detail=noop_detail, error=noop_error))
    fid = "1b" if runtime.kind == "cpython" else "1c"
    return (figure(rid(fid, runtime), "one-shot apply of a change, {} (wall)".format(
                       runtime.label), "ms", wall, FLOOR, floor_wall,
                   ONE_SHOT_TARGET[runtime.kind], detail=detail),
            figure(rid("1d", runtime), "one-shot apply, nothing changed, " + runtime.label,
                   "ms", noops, FLOOR, noop_floor, NOOP_TARGET, detail=noop_detail,
                   error=noop_error))


def _daemon(lab, agent, log, extra_env=None):
    env = dict(agent.env, **(extra_env or {}))
    return measure.start(agent.argv("daemon"), ns=lab.router.name, env=env, stdout=log,
                         stderr=subprocess.STDOUT)


def no_ctypes_env(agent, folder):
    """CPython as OpenWrt's python3-light without python3-ctypes: `import ctypes` fails."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "ctypes.py"), "w") as f:
        f.write(NO_CTYPES)
    return {"PYTHONPATH": folder + ":" + agent.env["PYTHONPATH"]}


def resident(lab, runtime, rounds, phase_s, variant=None):
    """Figure 1a: the daemon, woken by its watch of the committed file (and by SIGHUP where
    the interpreter can catch it). variant "no inotify": CPython without ctypes."""
    agent = lab.agent("daemon-" + runtime.key, runtime)
    files = _files(agent)
    agent.commit(ALL_ON)
    extra = no_ctypes_env(agent, os.path.join(lab.scratch, "no-ctypes")) \
        if variant == "no inotify" else None
    floor = Floor(lab, files)
    monitor = Generations(lab.router.name)
    with open(os.path.join(lab.scratch, "daemon-{}.log".format(runtime.key)), "w+") as log:
        daemon = _daemon(lab, agent, log, extra)
        try:
            if monitor.next(10) is None:
                raise RuntimeError("the daemon applied nothing at start: " + _log(log))
            floor.to("on")
            hup = runtime.kind == "cpython" and variant is None
            samples, floors = _daemon_rounds(agent, floor, monitor, daemon, log, rounds, hup,
                                             phase_s)
        finally:
            measure.stop(daemon)
            monitor.close()
            floor.close()
    label = runtime.label + (" without ctypes (no inotify)" if variant else "")
    key = runtime.key + ("-noinotify" if variant else "")
    if variant:
        note = ("python3-light without python3-ctypes: no inotify, so a commit waits for the "
                "stat every 0.5 s (0-500 ms)")
        target = None
    elif runtime.kind == "cpython":
        note = ("inotify (ctypes) on the config directory and SIGHUP wake the daemon at once "
                "(its stat every 30 s is the safety net); once awake its apply costs what "
                "1a'' shows")
        target = RESIDENT_TARGET
    else:
        note = "inotify through ffi wakes the daemon at once" if runtime.key != "pypi" else \
            "PyPI's MicroPython has no ffi: no inotify, a stat every 0.5 s"
        target = RESIDENT_TARGET
    records = [figure(rid("1a", key), "commit -> in force, resident agent (file watch), " +
                      label, "ms", samples["watch"], FLOOR_IN_FORCE, floors["watch"], target,
                      note=note)]
    if hup:
        records.append(figure(rid("1a'", key), "commit + SIGHUP -> in force, resident agent, " +
                              label, "ms", samples["hup"], FLOOR_IN_FORCE, floors["hup"],
                              RESIDENT_TARGET))
    return records


def _daemon_rounds(agent, floor, monitor, daemon, log, rounds, hup, phase_s):
    """Commits noticed by the file watch, then signalled by SIGHUP, each after its floor."""
    state = "on"
    samples = {"watch": [], "hup": []}
    floors = {"watch": [], "hup": []}
    for how in ["watch"] * rounds + ["hup"] * (rounds if hup else 0):
        new = "off" if state == "on" else "on"
        floors[how].append(floor.measure(new)[1])
        # A random phase against the daemon's stat, as a user's commit would have.
        time.sleep(random.uniform(0.05, phase_s))
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
        # its apply goes on after the transaction (read back, cut, record) and the table
        # event it hears is its own: let that settle before the next floor
        time.sleep(0.2)
        floor.to(new)
        state = new
    return samples, floors


def _log(log):
    log.seek(0)
    return log.read()[-2000:]


def run(lab, env, params):
    rounds, resident_rounds = params["rounds"], params["resident_rounds"]
    records = []
    for runtime in env.runtimes:
        records += resident(lab, runtime, resident_rounds, params["phase_s"])
    records += resident(lab, env.cpython, max(1, resident_rounds // 2), params["phase_s"],
                        "no inotify")
    noops = []
    for runtime in [None] + env.runtimes:
        change, noop = reactions(lab, runtime, rounds)
        records.append(change)
        noops.append(noop)
    return records + noops
