"""Adapter for CPython's signal module (MicroPython has none; importing this fails there).

SIGHUP asks the resident agent to re-read and apply; SIGTERM and SIGINT ask it to stop after
the current step. The handlers only take note: the agent's loop does the work.

Catching SIGTERM also matters with python-ubus: ubus.loop() runs uloop, which takes over
SIGTERM and SIGINT only while they are left at their default action, and would then swallow
them (ending just that one loop), so procd's stop would wait for its SIGKILL.
"""

import signal


def install(on_hangup, on_stop):
    signal.signal(signal.SIGHUP, lambda _signum, _frame: on_hangup())
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: on_stop())
