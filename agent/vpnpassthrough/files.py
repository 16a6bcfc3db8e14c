"""Small file operations that behave the same on CPython and MicroPython (which has no os.path)."""

import os


def unique_suffix():
    if hasattr(os, "getpid"):
        return str(os.getpid())
    return "".join("{:02x}".format(b) for b in os.urandom(4))


def atomic_write(path, text):
    """Readers see the old or the new file, never half of one."""
    folder, _, name = path.rpartition("/")
    tmp = "{}/.{}.{}.tmp".format(folder, name, unique_suffix())
    try:
        with open(tmp, "w") as f:
            f.write(text)
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


def makedirs(path):
    parts = path.split("/")
    for i in range(2, len(parts) + 1):
        here = "/".join(parts[:i])
        if here and not exists(here):
            try:
                os.mkdir(here)
            except OSError:
                if not exists(here):
                    raise


def lines(path, chunk=4096):
    """The file's lines (without their newline), read in chunks: MicroPython's own line
    iteration reads a character at a time, fifteen times slower on a long listing."""
    rest = ""
    with open(path) as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            parts = (rest + data).split("\n")
            rest = parts.pop()
            for line in parts:
                yield line
    if rest:
        yield rest
