"""Adapter for CPython's signal module (MicroPython has none; importing this fails there).

SIGHUP asks the resident agent to re-read and apply; SIGTERM and SIGINT ask it to stop after
the current step, so an apply is never cut off halfway and the bus is left cleanly. The
handlers only take note: the agent's loop does the work.

CPython runs a handler only between bytecodes and then resumes an interrupted wait for the
rest of its timeout, so a handler alone would be acted on only at the next tick. The
interpreter's wakeup fd gets a byte on every handled signal: waiting on it ends the wait.
"""

import os
import signal


def install(on_hangup, on_stop):
    """Install the handlers; return the fd that turns readable when one of them is due."""
    signal.signal(signal.SIGHUP, lambda _signum, _frame: on_hangup())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: on_stop())
    readable, writable = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(writable)
    return readable
