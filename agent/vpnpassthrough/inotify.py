"""Adapter: an inotify watch through ctypes (CPython only; importing it fails on MicroPython
and on python3 without ctypes, e.g. OpenWrt's python3-light without python3-ctypes).

`uci commit` writes a temp file in the config directory and renames it over the config, so a
watch on the directory sees the commit the moment it lands. The watch only wakes the daemon:
which file changed is still decided by its stat.
"""

import ctypes
import os

IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _init1, _add_watch = _libc.inotify_init1, _libc.inotify_add_watch
except (OSError, AttributeError) as e:  # no dlopen of ourselves, or a libc without inotify
    raise ImportError("no inotify here: {}".format(e)) from e


def _failed(call):
    code = ctypes.get_errno()
    return OSError(code, "{}: {}".format(call, os.strerror(code)))


def watch(directory, mask):
    """A non-blocking fd that turns readable on the events of mask in `directory`. OSError
    when the kernel refuses (no such directory, too many watches)."""
    fd = _init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        raise _failed("inotify_init1")
    if _add_watch(fd, os.fsencode(directory), mask) < 0:
        error = _failed("inotify_add_watch " + directory)
        os.close(fd)
        raise error
    return fd
