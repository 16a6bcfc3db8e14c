"""Small programs the bench runs on an interpreter next to the agent: its own peak memory,
its MicroPython heap, the time of one step inside it. Each is plain code both CPython and
MicroPython run, printing one marked line on stderr that the bench reads back.
"""

import measure

# The agent's CLI as `-m vpnpassthrough ARGS` runs it, then the process's own high-water mark
# of resident memory (VmHWM): its own, not that of the nft or conntrack it waited for, which
# GNU time's figure would be whenever a child is the larger (nft is ~3.5 MiB here, more than
# MicroPython with the agent).
_PEAK = """
import sys
while sys.argv:
    sys.argv.pop()
for word in {argv!r}:
    sys.argv.append(word)
code = 0
{body}
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        sys.stderr.write("\\nvmhwm " + line.split()[1] + "\\n")
sys.exit(code)
"""
_RUN_AGENT = """try:
    import vpnpassthrough.__main__
except SystemExit as e:
    code = e.args[0] if e.args and e.args[0] else 0"""


def _marked(text, mark):
    for line in reversed(text.strip().split("\n")):
        if line.startswith(mark + " "):
            return line[len(mark) + 1:]
    return None


def peak(runtime, args, ns=None, env=None, stdin=None, agent=True):
    """{"own": VmHWM KiB of the process, "with_children": GNU time's maxrss KiB (the largest
    of the process and those it waited for)}; agent=False: the bare interpreter."""
    code = _PEAK.format(argv=["vpnpassthrough"] + list(args),
                        body=_RUN_AGENT if agent else "pass")
    done = measure.run(["/usr/bin/time", "-f", "maxrss %M"] + runtime.bare() + ["-c", code],
                       ns=ns, env=env, stdin=stdin)
    own = _marked(done.err, "vmhwm")
    total = _marked(done.err, "maxrss")
    if done.code != 0 or own is None or total is None:
        raise RuntimeError("{} {} failed ({}): {}{}".format(runtime.label, " ".join(args),
                                                             done.code, done.out,
                                                             done.err[-1500:]))
    return {"own": int(own), "with_children": int(total), "out": done.out}


_CLOCK = """
import sys, time
clock = time.ticks_us if hasattr(time, "ticks_us") else None
def now():
    return clock() if clock else int(time.perf_counter() * 1000000)
def since(start):
    return time.ticks_diff(clock(), start) if clock else now() - start
"""
# The agent's own cut (engine.Apply.cut: the router's sides from rtnetlink, the protocol's
# LAN-initiated flows from ctnetlink, deleted in batches), timed inside the interpreter.
_CUT = _CLOCK + """
from vpnpassthrough import api, conntrack, engine, store
ctx = api.context()
step = engine.Apply(ctx, store.empty(), store.paths(ctx["state_dir"]))
listed = [0]
flows = conntrack.flows
def timed_flows(*args):
    found = flows(*args)
    listed[0] = since(start)
    return found
conntrack.flows = timed_flows
start = now()
owed = step.cut({names!r}, {devices!r}, True, set())
took = since(start)
deleted = sum(int(action.split()[1]) for action in step.actions if action.startswith("cut "))
sys.stderr.write("\\ncut {{}} {{}} {{}} {{}}\\n".format(took, listed[0], deleted,
                                                   len(step.errors) + len(owed)))
"""


def cut(runtime, names, devices, ns, env):
    """{"us": the cut's time inside the interpreter, "list_us": of it listing, "deleted": n,
    "errors": n}."""
    done = measure.run(runtime.bare() + ["-c", _CUT.format(names=list(names),
                                                           devices=list(devices))],
                       ns=ns, env=env)
    found = _marked(done.err, "cut")
    if done.code != 0 or found is None:
        raise RuntimeError("{} cut failed ({}): {}{}".format(runtime.label, done.code,
                                                              done.out, done.err[-1500:]))
    took, listed, deleted, errors = (int(x) for x in found.split())
    return {"us": took, "list_us": listed, "deleted": deleted, "errors": errors,
            "wall_ms": done.ms}


# The kernel's side of the agent's conntrack reads: every protocol's filtered dumps, as status
# asks them, in a router whose table is empty. Each walks the kernel's whole conntrack hash,
# which every namespace shares and the machine's memory sizes.
_WALKS = _CLOCK + """
from vpnpassthrough import conntrack
from vpnpassthrough.protocols import NAMES
start = now()
conntrack.flows(NAMES, lambda flow: None)
took = since(start)
sys.stderr.write("\\nwalks {} {}\\n".format(took, 2 * len(conntrack.queries(NAMES))))
"""


def walks(runtime, ns, env):
    """{"ms": status's conntrack dumps of an empty table, inside the interpreter, "dumps": n,
    "cpu_ms": the probe process's CPU}."""
    done = measure.run(runtime.bare() + ["-c", _WALKS], ns=ns, env=env)
    found = _marked(done.err, "walks")
    if done.code != 0 or found is None:
        raise RuntimeError("{} walks failed ({}): {}".format(runtime.label, done.code,
                                                            done.err[-1500:]))
    took, dumps = (int(x) for x in found.split())
    return {"ms": took / 1000.0, "dumps": dumps, "cpu_ms": done.cpu_ms}


# The CLI as `-m vpnpassthrough ARGS` runs it (with what its __main__ sets up), then the heap.
HEAP = """
import sys
while sys.argv:
    sys.argv.pop()
for word in {argv!r}:
    sys.argv.append(word)
try:
    import vpnpassthrough.__main__
except SystemExit:
    pass
import micropython
micropython.mem_info()
"""
EMPTY_HEAP = "import micropython\nmicropython.mem_info()"


def heap_peak_kib(runtime, args, ns=None, env=None):
    """MicroPython's GC heap peak (micropython.mem_info) after running the CLI command."""
    code = HEAP.format(argv=["vpnpassthrough"] + list(args)) if args is not None else EMPTY_HEAP
    done = measure.run(runtime.bare() + ["-c", code], ns=ns, env=env).check("mem_info")
    for part in done.out.replace(",", " ").split():
        if part.startswith("peak="):
            return int(part[5:]) / 1024.0
    raise RuntimeError("no heap peak in mem_info output: " + done.out[-500:])

