"""Locks across processes: one apply at a time (CLI, rpcd calls, the daemon), and libuci's lock
on a config file while `set` rewrites it.

flock(2) where the interpreter reaches it (CPython; MicroPython through ffi, as OpenWrt builds
it): the kernel drops the lock of a process that dies, so there is nothing stale to break.
Elsewhere the apply lock is a directory (mkdir is atomic) holding its owner's pid; breaking the
lock of a dead owner happens under a second directory, so two waiters never both break it and
both go on. Cannot create the lock (read-only or missing folder, a file in the way) is an error
at once; held by another is a wait, bounded.
"""

import os
import time

from . import files, posix

WAIT_S = 30
STALE_S = 10
POLL_S = 0.01


class LockError(OSError):
    pass


def _cannot(path, error):
    return LockError("cannot create the lock {}: {}".format(path, error))


def _held(path, wait_s):
    return LockError("another apply has held {} for {} s; try again later".format(path, wait_s))


class Flock:
    """flock(2) on a file, created if missing (as libuci does with its config files)."""

    def __init__(self, path, wait_s=WAIT_S):
        self.path = path
        self.wait_s = wait_s
        self.file = None

    def __enter__(self):
        try:
            self.file = open(self.path, "a")
        except OSError as e:
            raise _cannot(self.path, e) from None
        deadline = time.time() + self.wait_s
        while not posix.flock(self.file.fileno(), posix.LOCK_EX | posix.LOCK_NB):
            if time.time() > deadline:
                self.file.close()
                raise _held(self.path, self.wait_s)
            time.sleep(POLL_S)
        return self

    def __exit__(self, *exc):
        self.file.close()  # closing the last descriptor releases the lock
        return False


def _alive(pid):
    return files.exists("/proc/" + pid)


def _own_pid():
    return str(posix.getpid()) if posix.getpid else \
        (files.read("/proc/self/stat") or "0").split(" ")[0]


def _age_s(path):
    try:
        return time.time() - os.stat(path)[8]
    except OSError:
        return 0


class DirLock:
    """A directory lock for interpreters without flock (PyPI's MicroPython)."""

    def __init__(self, path, wait_s=WAIT_S):
        self.path = path
        self.breaker = path + ".break"
        self.wait_s = wait_s

    def _mkdir(self, path):
        """True when made, False when it exists; LockError when it cannot be made."""
        try:
            os.mkdir(path)
            return True
        except OSError as e:
            if files.errno_of(e) == files.EEXIST:
                return False
            raise _cannot(path, e) from None

    def _stale(self):
        owner = files.read(self.path + "/pid")
        if owner:
            return not _alive(owner.strip())
        # made but its pid not written yet, or the owner died right after mkdir
        return _age_s(self.path) > STALE_S

    def _break(self):
        """Remove a stale lock, deciding that under the breaker directory, so that of two
        waiters only one removes it and the other sees whoever holds it next. True when
        this waiter removed it."""
        if not self._mkdir(self.breaker):
            if _age_s(self.breaker) > STALE_S:  # a breaker that died midway
                self._rmdir(self.breaker)
            return False
        try:
            if files.exists(self.path) and self._stale():
                files.remove(self.path + "/pid")
                self._rmdir(self.path)
                return True
            return False
        finally:
            self._rmdir(self.breaker)

    @staticmethod
    def _rmdir(path):
        try:
            os.rmdir(path)
        except OSError:
            pass

    def __enter__(self):
        deadline = time.time() + self.wait_s
        while not self._mkdir(self.path):
            if self._stale() and self._break():
                continue
            if time.time() > deadline:
                raise _held(self.path, self.wait_s)
            time.sleep(POLL_S)
        try:
            with open(self.path + "/pid", "w") as f:
                f.write(_own_pid())
        except OSError as e:
            self._rmdir(self.path)
            raise _cannot(self.path, e) from None
        return self

    def __exit__(self, *exc):
        files.remove(self.path + "/pid")
        self._rmdir(self.path)
        return False


def apply_lock(path, wait_s=WAIT_S):
    return Flock(path, wait_s) if posix.flock else DirLock(path + ".d", wait_s)


class ConfigLock:
    """libuci's lock on a config file while it is rewritten; without flock there is none to
    share with libuci (only PyPI's MicroPython lacks it), and the rename stays atomic."""

    def __init__(self, path):
        self.lock = Flock(path) if posix.flock else None

    def __enter__(self):
        if self.lock:
            self.lock.__enter__()
        return self

    def __exit__(self, *exc):
        if self.lock:
            self.lock.__exit__(*exc)
        return False
