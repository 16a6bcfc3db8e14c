"""Adapter: POSIX calls from libc through MicroPython's ffi (importing fails without ffi).

OpenWrt's libc is musl (libc.so), a glibc system's is libc.so.6. ffi reports no errno, so a
failing call only says that it failed.
"""

import ffi

for _name in ("libc.so", "libc.so.6"):
    try:
        _libc = ffi.open(_name)
        break
    except OSError:
        _libc = None
if _libc is None:
    raise ImportError("no libc for ffi")

_chmod = _libc.func("i", "chmod", "sI")
_flock = _libc.func("i", "flock", "ii")
_fsync = _libc.func("i", "fsync", "i")
_read = _libc.func("l", "read", "ipL")
_init1 = _libc.func("i", "inotify_init1", "i")
_add_watch = _libc.func("i", "inotify_add_watch", "isI")
getpid = _libc.func("i", "getpid", "")

IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000


def chmod(path, mode):
    if _chmod(path, mode) != 0:
        raise OSError("chmod {} failed".format(path))


def flock(fd, operation):
    """True when taken; False when it failed (LOCK_NB: another holds it)."""
    return _flock(fd, operation) == 0


def fsync(f):
    f.flush()
    if _fsync(f.fileno()) != 0:
        raise OSError("fsync failed")


def read(fd, size):
    buffer = bytearray(size)
    n = _read(fd, buffer, size)
    if n < 0:
        raise OSError("read failed")
    return bytes(buffer[:n])


def inotify_watch(directory, mask):
    fd = _init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0 or _add_watch(fd, directory, mask) < 0:
        raise OSError("inotify watch on {} failed".format(directory))
    return fd
