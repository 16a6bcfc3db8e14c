"""The resident agent (`vpnpassthrough daemon`, run by procd): apply at start, then again when
the committed config changes, on SIGHUP, and when a network interface goes up or down.

A `uci commit` from the shell fires no event on OpenWrt, so the agent watches the committed file
itself. What decides is a stat of its inode, size and mtime (the rename `uci commit` does always
shows), taken after every wait. The wait ends early when something may have happened: on
CPython an inotify watch on the config directory and the interpreter's signal wakeup fd, so a
commit or a SIGHUP is applied at once. Otherwise (MicroPython, or python3 without ctypes) the
wait lasts a tick, 0.5 s, which is also the safety net, so an apply follows a commit well
within 2 s in any case. python-ubus gives no fd to wait on: netifd's events are handled after
each wait, at most a tick late. Whatever wakes it, the agent only notes why, and one apply
serves all reasons. An apply that fails (an invalid commit) is recorded for `status` and logged
by the engine; the last good state stays in force and the agent keeps watching.
"""

import os
import select

from . import api, syslog, uci
from .config import CONFIG

TICK_S = 0.5  # the longest wait between two stats of the committed file
INTERFACE_ACTIONS = ("ifup", "ifdown")


def file_signature(path):
    """(inode, size, mtime) of the file, or None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st[1], st[6], getattr(st, "st_mtime_ns", st[8]))


def _drain(fd):
    """Read a woken fd empty (inotify events, signal bytes): only the wake matters, and an fd
    left readable would end every later wait at once."""
    try:
        while os.read(fd, 4096):
            pass
    except OSError:  # EAGAIN: nothing left
        pass


class Agent:
    def __init__(self, ctx, tick_s=TICK_S):
        self.ctx = ctx
        self.path = uci.path_of(ctx["config_dir"], CONFIG)
        self.seen = file_signature(self.path)
        self.reasons = []
        self.running = True
        self.bus = None
        self.tick_ms = int(tick_s * 1000)
        self.wakers = select.poll()

    def add_waker(self, fd):
        """An fd whose turning readable ends the wait before the tick is over."""
        self.wakers.register(fd, select.POLLIN)

    def wake(self, reason):
        """Called from signal handlers and ubus callbacks: note why; the loop applies."""
        if reason not in self.reasons:
            self.reasons.append(reason)

    def stop(self):
        self.running = False

    def on_interface(self, data):
        if isinstance(data, dict) and data.get("action") in INTERFACE_ACTIONS:
            self.wake("{} {}".format(data["action"], data.get("interface")))

    def apply(self, reasons):
        try:
            reply = api.call("reload", {}, self.ctx)
        except Exception as e:  # a lock held too long, a state dir gone: try again next time
            syslog.send(syslog.ERR, "apply ({}) failed: {}".format(", ".join(reasons), e))
            return
        if self.bus:
            reply["reasons"] = reasons
            try:
                self.bus.announce(reply)
            except Exception as e:
                syslog.send(syslog.ERR, "ubus send failed: {}".format(e))

    def step(self):
        """After each wait: notice a commit, apply once for everything that asked."""
        now = file_signature(self.path)
        if now != self.seen:
            self.seen = now
            self.wake("config changed")
        if self.reasons:
            reasons = self.reasons
            self.reasons = []
            self.apply(reasons)

    def wait(self):
        """Until a waker fires or the tick is over; then run the bus events received meanwhile."""
        for fd, _events in self.wakers.poll(self.tick_ms):
            _drain(fd)
        if self.bus:
            self.bus.deliver()

    def serve(self):
        self.apply(["start"])
        while self.running:
            self.wait()
            if self.running:
                self.step()
        return 0


def _catch_signals(agent):
    """CPython: SIGHUP applies, SIGTERM and SIGINT stop, each at once."""
    try:
        from . import signals
    except ImportError:
        return  # MicroPython: SIGTERM's default action ends us; reload runs the CLI
    agent.add_waker(signals.install(lambda: agent.wake("SIGHUP"), agent.stop))


def _watch_config_dir(agent):
    """Where inotify is at hand, a commit ends the wait at once; elsewhere the tick finds it."""
    try:
        from . import inotify

        fd = inotify.watch(agent.ctx["config_dir"])
    except (ImportError, OSError):
        return
    agent.add_waker(fd)


def _connect(agent):
    try:
        from . import ubus_binding
    except ImportError:
        return None
    try:
        return ubus_binding.Bus(agent.on_interface)
    except Exception as e:  # ubusd not (yet) there: the file watch still works
        syslog.send(syslog.ERR, "ubus unavailable, not following network events: {}".format(e))
        return None


def _tick_s():
    """VPNPASSTHROUGH_TICK_S: tests stretch the tick to show that the early wakes work."""
    return float(os.getenv("VPNPASSTHROUGH_TICK_S") or TICK_S)


def run(ctx):
    agent = Agent(ctx, _tick_s())
    _catch_signals(agent)
    _watch_config_dir(agent)  # before the start apply: an earlier commit is in that apply
    agent.bus = _connect(agent)
    syslog.send(syslog.INFO, "started, watching " + agent.path)
    try:
        return agent.serve()
    finally:
        if agent.bus:
            agent.bus.close()
