"""Small file operations that behave the same on CPython and MicroPython (which has no os.path).

Files are replaced by writing a temp file next to them and renaming it over: readers see the
old file or the new one. Temp names are random (an attacker who can write into the folder
cannot guess them), created exclusively where the interpreter can, flushed to disk before the
rename where it can, and given their mode explicitly (0644 unless told otherwise) instead of
whatever umask the caller has.
"""

import os
import sys

from . import posix

# Linux's numbers: MicroPython's errno module lacks some of them.
ENOENT = 2
EEXIST = 17
ENOTDIR = 20

FILE_MODE = 0o644
DIR_MODE = 0o755


def random_suffix():
    return "".join("{:02x}".format(b) for b in os.urandom(6))


def errno_of(error):
    code = getattr(error, "errno", None)
    if code is None and error.args and isinstance(error.args[0], int):
        code = error.args[0]
    return code


def _create(path):
    if sys.implementation.name == "micropython":
        return open(path, "w")  # no exclusive mode there: the random name has to do
    return open(path, "x")  # O_EXCL: never through a planted symlink


def atomic_write(path, text, mode=FILE_MODE, sync=False):
    """Replace path with text. sync: flush it to disk first (config and firewall include)."""
    folder, _, name = path.rpartition("/")
    tmp = "{}/.{}.{}.tmp".format(folder or ".", name, random_suffix())
    try:
        with _create(tmp) as f:
            f.write(text)
            if sync and posix.fsync:
                posix.fsync(f)
        if posix.chmod:
            posix.chmod(tmp, mode)
        os.rename(tmp, path)
    except OSError:
        remove(tmp)
        raise


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def read_bytes(path, limit):
    """The file's bytes, None when it does not exist, or the first limit + 1 bytes (the
    caller sees it is too large without holding a huge file in memory)."""
    try:
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except OSError as e:
        if errno_of(e) == ENOENT:
            return None
        raise


def mode_of(path, default=FILE_MODE):
    try:
        return os.stat(path)[0] & 0o7777
    except OSError:
        return default


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def makedirs(path, mode=DIR_MODE):
    """Create path and its parents (relative paths too). OSError when it cannot be a
    directory: a file is in the way, or a parent is read-only."""
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        here = "/".join(parts[:i])
        if not here or exists(here):
            continue
        try:
            os.mkdir(here)
        except OSError as e:
            if errno_of(e) != EEXIST:
                raise
            continue
        if posix.chmod:
            posix.chmod(here, mode)
    if os.stat(path)[0] & 0o170000 != 0o040000:
        raise OSError(ENOTDIR, "{} is not a directory".format(path))

