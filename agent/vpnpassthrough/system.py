"""Running commands: argv lists in, (status, stdout, stderr) out.

CPython uses subprocess. MicroPython has only os.system, so there every argument is quoted
(and is one of our constants or paths, never a configuration value) and the output goes
through files in a scratch directory.
"""

import os
import sys

from . import files

NOT_FOUND = 127


def _run_subprocess(argv, stdin):
    import subprocess

    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    except OSError as e:
        return NOT_FOUND, "", "{}: {}".format(argv[0], e.strerror or e)
    return done.returncode, done.stdout, done.stderr


def shell_quote(arg):
    return "'" + arg.replace("'", "'\\''") + "'"


def _run_os_system(argv, stdin):
    base = "{}/vpnpassthrough-{}".format(os.getenv("TMPDIR") or "/tmp", files.unique_suffix())
    command = " ".join(shell_quote(a) for a in argv)
    command += " >{} 2>{}".format(shell_quote(base + ".out"), shell_quote(base + ".err"))
    if stdin is not None:
        with open(base + ".in", "w") as f:
            f.write(stdin)
        command += " <" + shell_quote(base + ".in")
    else:
        command += " </dev/null"
    status = os.system(command)
    out = files.read(base + ".out", "")
    err = files.read(base + ".err", "")
    for suffix in (".in", ".out", ".err"):
        files.remove(base + suffix)
    code = status >> 8 if status & 0xFF == 0 else 128 + (status & 0x7F)
    return code, out, err


if sys.implementation.name == "micropython":
    _run = _run_os_system
else:
    _run = _run_subprocess


def run(argv, stdin=None):
    """Run argv; a missing program gives status 127 and says so on stderr."""
    return _run(list(argv), stdin)
