"""Adapter: the POSIX calls from CPython's os and fcntl (importing fails on MicroPython)."""

import fcntl
import os

chmod = os.chmod
getpid = os.getpid
read = os.read


def flock(fd, operation):
    """True when taken; False when LOCK_NB and another holds it."""
    try:
        fcntl.flock(fd, operation)
    except BlockingIOError:
        return False
    return True


def fsync(f):
    f.flush()
    os.fsync(f.fileno())


def inotify_watch(directory, mask):
    from . import inotify

    return inotify.watch(directory, mask)
