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


def _run_lines_subprocess(argv, keep):
    import subprocess

    try:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    except OSError as e:
        return NOT_FOUND, [], "{}: {}".format(argv[0], e.strerror or e)
    kept = [item for item in map(keep, child.stdout) if item is not None]
    err = child.stderr.read()
    return child.wait(), kept, err


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
    return "{}/vpnpassthrough-{}".format(os.getenv("TMPDIR") or "/tmp", files.unique_suffix())


def _cleanup(base):
    for suffix in (".in", ".out", ".err"):
        files.remove(base + suffix)


def _run_os_system(argv, stdin):
    base = _scratch()
    try:
        code = _shell(argv, stdin, base)
        return code, files.read(base + ".out", ""), files.read(base + ".err", "")
    finally:
        _cleanup(base)


def _run_lines_os_system(argv, keep):
    base = _scratch()
    try:
        code = _shell(argv, None, base)
        kept = [item for item in map(keep, files.lines(base + ".out")) if item is not None]
        return code, kept, files.read(base + ".err", "")
    finally:
        _cleanup(base)


if sys.implementation.name == "micropython":
    _run, _run_lines = _run_os_system, _run_lines_os_system
else:
    _run, _run_lines = _run_subprocess, _run_lines_subprocess


def run(argv, stdin=None):
    """Run argv; a missing program gives status 127 and says so on stderr."""
    return _run(list(argv), stdin)


def run_lines(argv, keep):
    """Run argv and pass each line of its output to keep(); (status, [what keep returned that
    is not None], stderr). The output is never held whole in memory."""
    return _run_lines(list(argv), keep)
