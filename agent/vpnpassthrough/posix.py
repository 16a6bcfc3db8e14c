"""The few POSIX calls the agent needs beyond what both interpreters' `os` has.

CPython has them in os and fcntl; MicroPython's unix port reaches them in libc through `ffi`
(OpenWrt builds it with libffi). Each name is None where neither is available (the PyPI
MicroPython the tests also use has no ffi); callers then fall back and say what they lack.
"""

try:
    from .posix_os import chmod, flock, fsync, getpid, inotify_watch, read
except ImportError:
    try:
        from .posix_ffi import chmod, flock, fsync, getpid, inotify_watch, read
    except ImportError:
        chmod = flock = fsync = getpid = inotify_watch = read = None

LOCK_EX = 2
LOCK_NB = 4
