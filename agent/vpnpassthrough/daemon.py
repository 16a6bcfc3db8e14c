"""The resident agent (`vpnpassthrough daemon`, run by procd): apply at start, then again when
the committed config changes, on SIGHUP, and when a network interface goes up or down.

A `uci commit` from the shell fires no event on OpenWrt, so the agent watches the committed file
itself: every half second a stat of its inode, size and mtime, which catches the rename that
`uci commit` does and works on MicroPython (no inotify there), so the apply follows a commit
well within 2 s. SIGHUP and ubus events come from adapters that exist only on CPython with
python3-ubus; without them the loop just sleeps between stats and procd's reload runs the
CLI's reload. Whatever wakes it, the agent only notes why, and one apply per tick serves all
reasons. An apply that fails (an invalid commit) is recorded for `status` and logged by the
engine; the last good state stays in force and the agent keeps watching.
"""

import os
import time

from . import api, syslog, uci
from .config import CONFIG

TICK_S = 0.5
INTERFACE_ACTIONS = ("ifup", "ifdown")


def file_signature(path):
    """(inode, size, mtime) of the file, or None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st[1], st[6], getattr(st, "st_mtime_ns", st[8]))


class Agent:
    def __init__(self, ctx):
        self.ctx = ctx
        self.path = uci.path_of(ctx["config_dir"], CONFIG)
        self.seen = file_signature(self.path)
        self.reasons = []
        self.running = True
        self.bus = None

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
        """One tick's work: notice a commit, apply once for everything that asked."""
        now = file_signature(self.path)
        if now != self.seen:
            self.seen = now
            self.wake("config changed")
        if self.reasons:
            reasons = self.reasons
            self.reasons = []
            self.apply(reasons)

    def wait(self):
        if self.bus:
            self.bus.wait(TICK_S)
        else:
            time.sleep(TICK_S)

    def serve(self):
        self.apply(["start"])
        while self.running:
            self.wait()
            if self.running:
                self.step()
        return 0


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


def run(ctx):
    agent = Agent(ctx)
    try:
        from . import signals
    except ImportError:
        pass  # MicroPython: SIGTERM's default action ends us; reload runs the CLI
    else:
        signals.install(lambda: agent.wake("SIGHUP"), agent.stop)
    agent.bus = _connect(agent)
    syslog.send(syslog.INFO, "started, watching " + agent.path)
    try:
        return agent.serve()
    finally:
        if agent.bus:
            agent.bus.close()
