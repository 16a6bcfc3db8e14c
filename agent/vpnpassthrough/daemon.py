"""The resident agent (`vpnpassthrough daemon`, run by procd): apply at start, then again when
the committed config changes, when its table is changed behind its back, on SIGHUP, and until
a failed apply has succeeded.

A `uci commit` from the shell fires no event on OpenWrt, so the agent watches the committed file
itself. What decides is a stat of its inode, size and mtime (the rename `uci commit` does always
shows), taken after every wait. The wait ends early when something may have happened: an
inotify watch on the config directory (ctypes on CPython, ffi on MicroPython), CPython's signal
wakeup fd, and nftables' own change notifications on a netlink socket, which tell at once when
a table is deleted or edited (`fw4 flush`, `nft flush ruleset`). Without inotify the wait lasts
a tick of 0.5 s, so an apply follows a commit well within 2 s in any case; with it, the tick is
only the safety net. Nothing wakes the idle agent but these.

WAN devices are re-read from firewall4 at start, on SIGHUP and when the config's WAN settings
change; interface events reach the agent as `reload` from the iface hotplug script (the same on
python3 and MicroPython). A failed apply is retried after 1 s, then 2, 4 ... up to 60 s.
"""

import os
import select
import time

from . import api, engine, files, netlink, posix, syslog, uci
from .config import CONFIG

TICK_S = 0.5  # the longest wait between two stats without inotify
SAFETY_TICK_S = 30  # with inotify: the stat is only the safety net
RETRY_FIRST_S = 1
RETRY_MAX_S = 60
IN_CLOSE_WRITE = 0x008
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
COMMIT_EVENTS = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE
NFNLGRP_NFTABLES = 7
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_NEWGEN = 15
TABLE_NAME = b"vpnpassthrough\0"
ENOBUFS = 105
RESOLVING = ("start", "SIGHUP")


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
        while posix.read(fd, 4096):
            pass
    except OSError:  # EAGAIN: nothing left
        pass


class TableWatch:
    """nftables' change notifications, narrowed to the agent's own table."""

    def __init__(self):
        self.sock = netlink.Socket(netlink.NETLINK_NETFILTER, groups=(NFNLGRP_NFTABLES,))
        self.sock.sock.setblocking(False)

    def changed(self):
        """True when an event since the last call touched our table (or events were lost)."""
        touched = False
        while True:
            try:
                messages = list(self.sock.messages())
            except OSError as e:
                # EAGAIN: all read. ENOBUFS: events were lost, so look at the table anyway.
                return touched or files.errno_of(e) == ENOBUFS
            for kind, _seq, data, start, end in messages:
                if kind >> 8 != NFNL_SUBSYS_NFTABLES or kind & 0xFF == NFT_MSG_NEWGEN:
                    continue
                name = netlink.attrs(data, start + 4, end).get(1)
                if name and bytes(data[name[0]:name[1]]) == TABLE_NAME:
                    touched = True


class Agent:
    def __init__(self, ctx, tick_s=TICK_S):
        self.ctx = ctx
        self.path = uci.path_of(ctx["config_dir"], CONFIG)
        self.seen = file_signature(self.path)
        self.reasons = []
        self.running = True
        self.bus = None
        self.table = None
        self.tick_ms = int(tick_s * 1000)
        self.retry_s = 0
        self.retry_at = None
        self.wakers = select.poll()

    def add_waker(self, fd):
        """An fd whose turning readable ends the wait before the tick is over."""
        self.wakers.register(fd, select.POLLIN)

    def wake(self, reason):
        """Called from signal handlers: note why; the loop applies."""
        if reason not in self.reasons:
            self.reasons.append(reason)

    def stop(self):
        self.running = False

    def apply(self, reasons):
        resolve = any(reason in RESOLVING for reason in reasons)
        try:
            outcome = engine.apply(self.ctx, resolve_wan=resolve)
        except Exception as e:  # never die of one apply: try again later
            outcome = {"ok": False, "retry": True, "errors": [{"message": str(e)}]}
            syslog.send(syslog.ERR, "apply ({}) failed: {}".format(", ".join(reasons), e))
        self.schedule_retry(outcome.get("retry"))
        if self.bus:
            reply = api.reload_reply(outcome) if "ms" in outcome else dict(outcome)
            reply["reasons"] = reasons
            try:
                self.bus.announce(reply)
            except Exception as e:
                syslog.send(syslog.ERR, "ubus send failed: {}".format(e))

    def schedule_retry(self, retry):
        if not retry:
            self.retry_s, self.retry_at = 0, None
            return
        self.retry_s = min(RETRY_MAX_S, self.retry_s * 2) if self.retry_s else RETRY_FIRST_S
        self.retry_at = time.time() + self.retry_s

    def step(self):
        """After each wait: notice a commit, a changed table, a retry due; apply once for
        everything that asked."""
        now = file_signature(self.path)
        if now != self.seen:
            self.seen = now
            self.wake("config changed")
        if self.table and self.table.changed():
            self.wake("table changed")
        if self.retry_at is not None and time.time() >= self.retry_at:
            self.wake("retry")
        if self.reasons:
            reasons = self.reasons
            self.reasons = []
            self.apply(reasons)

    def wait(self):
        """Until a waker fires, the tick is over or a retry is due."""
        timeout = self.tick_ms
        if self.retry_at is not None:
            timeout = max(0, min(timeout, int((self.retry_at - time.time()) * 1000)))
        for fd, _events in self.wakers.poll(timeout):
            # CPython reports fds, MicroPython the objects registered; the table socket is
            # read by step()
            if isinstance(fd, int) and not (self.table and fd == self.table.sock.fileno()):
                _drain(fd)

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
    """True when inotify watches the config directory: a commit then ends the wait at once."""
    if not posix.inotify_watch:
        return False
    try:
        fd = posix.inotify_watch(agent.ctx["config_dir"], COMMIT_EVENTS)
    except (ImportError, OSError):
        return False
    agent.add_waker(fd)
    return True


def _watch_table(agent):
    try:
        agent.table = TableWatch()
    except OSError as e:
        syslog.send(syslog.ERR, "cannot follow nftables changes ({}): a lost table is put back "
                                "at the next apply".format(e))
        return
    agent.add_waker(agent.table.sock.sock)


def _connect():
    try:
        from . import ubus_binding
    except ImportError:
        return None
    try:
        return ubus_binding.Bus()
    except Exception as e:  # ubusd not (yet) there: the event is a courtesy
        syslog.send(syslog.ERR, "ubus unavailable, no vpnpassthrough.applied events: {}".format(e))
        return None


def _tick_s(watched):
    """VPNPASSTHROUGH_TICK_S: tests stretch the tick to show that the early wakes work."""
    return float(os.getenv("VPNPASSTHROUGH_TICK_S") or (SAFETY_TICK_S if watched else TICK_S))


def run(ctx):
    agent = Agent(ctx)
    _catch_signals(agent)
    # before the start apply: an earlier commit or table change is in that apply
    watched = _watch_config_dir(agent)
    agent.tick_ms = int(_tick_s(watched) * 1000)
    _watch_table(agent)
    agent.bus = _connect()
    syslog.send(syslog.INFO, "started, watching {} ({})".format(
        agent.path, "inotify" if watched else "a stat every {} s".format(agent.tick_ms / 1000)))
    try:
        return agent.serve()
    finally:
        if agent.bus:
            agent.bus.close()

