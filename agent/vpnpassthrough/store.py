"""The agent's state directory: the apply lock, the record of what is in force, the include file.

state.json holds `applied` (the last config, WAN devices, ruleset and module states that were
put in force successfully) and `last` (the outcome of the latest attempt, good or bad).
ruleset.nft is what firewall4's include loads; it only ever holds text that nft accepted.
"""

import json
import os
import time

from . import files

LOCK_WAIT_S = 30
LOCK_STALE_S = 10


def paths(state_dir):
    base = state_dir.rstrip("/")
    return {"state": base + "/state.json", "ruleset": base + "/ruleset.nft",
            "pending": base + "/pending.nft", "lock": base + "/lock"}


def load(state_dir):
    text = files.read(paths(state_dir)["state"])
    if text:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return {"applied": None, "last": None}


def save(state_dir, record):
    files.atomic_write(paths(state_dir)["state"], json.dumps(record))


def _own_pid():
    return (files.read("/proc/self/stat") or "0").split(" ")[0]


class Lock:
    """One apply at a time, across processes (CLI, rpcd calls, daemon).

    A directory, because mkdir is atomic everywhere and MicroPython has no flock. The owner's
    pid inside lets a later apply break the lock of a process that died.
    """

    def __init__(self, state_dir):
        self.path = paths(state_dir)["lock"]

    def _stale(self):
        owner = files.read(self.path + "/pid")
        if owner:
            return not files.exists("/proc/" + owner.strip())
        try:
            return time.time() - os.stat(self.path)[8] > LOCK_STALE_S
        except OSError:
            return False

    def __enter__(self):
        deadline = time.time() + LOCK_WAIT_S
        while True:
            try:
                os.mkdir(self.path)
                break
            except OSError:
                if self._stale():
                    self._release()
                    continue
                if time.time() > deadline:
                    raise OSError("another apply holds " + self.path) from None
                time.sleep(0.01)
        with open(self.path + "/pid", "w") as f:
            f.write(_own_pid())
        return self

    def _release(self):
        files.remove(self.path + "/pid")
        try:
            os.rmdir(self.path)
        except OSError:
            pass

    def __exit__(self, *exc):
        self._release()
        return False
