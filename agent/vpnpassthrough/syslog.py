"""One syslog line per apply that changed something and per new error; nothing more.

Lines go straight to the syslog socket (/dev/log: logd on OpenWrt), so no program runs and no
shell ever sees a message that holds configuration values. An error already reported by the
previous apply is not repeated: a network flapping or a daemon re-applying an invalid config
does not flood the log, and `status` keeps showing it. Without a socket lines are dropped; the
same facts are in `status`. VPNPASSTHROUGH_SYSLOG names another socket (tests).
"""

import os
import socket
import struct
import sys

from . import files

TAG = "vpnpassthrough"
DAEMON = 3  # syslog facility
ERR = 3
NOTICE = 5
INFO = 6
MAX_ERRORS = 10  # per apply; the rest are summed up in one line


def socket_path():
    return os.getenv("VPNPASSTHROUGH_SYSLOG") or "/dev/log"


def _address(path):
    if sys.implementation.name == "micropython":
        # MicroPython's connect() takes a raw struct sockaddr_un.
        return struct.pack("H", socket.AF_UNIX) + path.encode() + b"\0"
    return path


def line(severity, message):
    """The datagram: <priority>tag[pid]: message, on one line."""
    pid = (files.read("/proc/self/stat") or "0").split(" ")[0]
    text = " ".join(message.split("\n"))
    return "<{}>{}[{}]: {}".format(DAEMON * 8 + severity, TAG, pid, text)


def send(severity, message):
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    except OSError:
        return
    try:
        sock.connect(_address(socket_path()))
        sock.send(line(severity, message).encode())
    except OSError:
        pass
    finally:
        sock.close()


def messages(outcome, previous):
    """(severity, message) lines for one apply outcome, given the one before it (or None)."""
    found = []
    if outcome.get("changed"):
        found.append((NOTICE, "applied: {} ({} ms)".format(", ".join(outcome["actions"]),
                                                         outcome.get("ms"))))
    known = [e.get("message") for e in (previous or {}).get("errors", ())]
    new = [e["message"] for e in outcome.get("errors", ()) if e.get("message") not in known]
    for message in new[:MAX_ERRORS]:
        found.append((ERR, message))
    if len(new) > MAX_ERRORS:
        found.append((ERR, "{} more errors: see `vpnpassthrough check`".format(
            len(new) - MAX_ERRORS)))
    return found


def report(outcome, previous):
    for severity, message in messages(outcome, previous):
        send(severity, message)
