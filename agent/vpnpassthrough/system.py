"""Running commands: argv lists in, (status, stdout, stderr) out.

CPython uses subprocess. MicroPython has only os.system, so there every argument is quoted
(and is one of our constants or paths, never a configuration value) and the output goes
through files in a private scratch folder, removed on every path.
"""

import os
import sys

from . import files, posix

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


def _shell(argv, stdin, base):
    """Run through os.system with stdout and stderr in base.out and base.err; the status."""
    command = " ".join(shell_quote(a) for a in argv)
    command += " >{} 2>{}".format(shell_quote(base + ".out"), shell_quote(base + ".err"))
    if stdin is not None:
        with open(base + ".in", "w") as f:
            f.write(stdin)
        command += " <" + shell_quote(base + ".in")
    else:
        command += " </dev/null"
    status = os.system(command)
    return status >> 8 if status & 0xFF == 0 else 128 + (status & 0x7F)


def _scratch():
    """A private folder for one command's files: a random name, made exclusively (mkdir
    fails on anything already there, a planted symlink too), 0700 where chmod is at hand."""
    base = os.getenv("TMPDIR") or "/tmp"
    for _attempt in range(8):
        folder = "{}/vpnpassthrough-{}".format(base, files.random_suffix())
        try:
            os.mkdir(folder)
        except OSError:
            continue
        if posix.chmod:
            posix.chmod(folder, 0o700)
        return folder
    raise OSError("cannot make a scratch folder in " + base)


def _run_os_system(argv, stdin):
    folder = _scratch()
    base = folder + "/cmd"
    try:
        code = _shell(argv, stdin, base)
        return code, files.read(base + ".out", ""), files.read(base + ".err", "")
    finally:
        for suffix in (".in", ".out", ".err"):
            files.remove(base + suffix)
        os.rmdir(folder)


_run = _run_os_system if sys.implementation.name == "micropython" else _run_subprocess


def run(argv, stdin=None):
    """Run argv; a missing program gives status 127 and says so on stderr."""
    return _run(list(argv), stdin)

