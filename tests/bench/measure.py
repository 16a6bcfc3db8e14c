"""Timing and peak memory of one process, started inside a namespace with nothing in between.

The bench process itself steps into the namespace (setns) just to start a child, and back, so
children start the fast way (vfork) with no `ip netns exec` and no extra fork: an anchor and
the run it is compared with start exactly alike, and their difference is the programs' own.
"""

import contextlib
import ctypes
import os
import resource
import statistics
import subprocess
import tempfile
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_HOME = os.open("/proc/self/ns/net", os.O_RDONLY)


def _setns(fd, what):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns {what}: {os.strerror(errno)}")


@contextlib.contextmanager
def inside(ns_name):
    """Run the body in network namespace /run/netns/NAME (nothing to do for None)."""
    if ns_name is None:
        yield
        return
    fd = os.open("/run/netns/" + ns_name, os.O_RDONLY)
    try:
        _setns(fd, ns_name)
        try:
            yield
        finally:
            _setns(_HOME, "back to the bench's own namespace")
    finally:
        os.close(fd)


class Run:
    """One finished process: when it started (perf_counter), wall seconds, exit code, output,
    and the CPU seconds it and every child it waited for used (user + system)."""

    def __init__(self, started, seconds, code, out, err, cpu=None):
        self.started = started
        self.seconds = seconds
        self.code = code
        self.out = out
        self.err = err
        self.cpu = cpu

    @property
    def ms(self):
        return self.seconds * 1000.0

    @property
    def cpu_ms(self):
        return self.cpu * 1000.0

    def check(self, what):
        if self.code != 0:
            raise RuntimeError(f"{what} failed ({self.code}): {self.out}{self.err}")
        return self


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv, ns=None, env=None, stdin=None):
    """Run argv to completion (in namespace ns); output goes to files so nothing waits on us.
    stdin: bytes to read, else /dev/null. The CPU time is getrusage(RUSAGE_CHILDREN) around
    the run: the process and all it waited for (nothing else of ours ends meanwhile)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as given:
        if stdin is not None:
            given.write(stdin)
            given.seek(0)
        with inside(ns):
            cpu = _children_cpu()
            start = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err,
                                    stdin=given if stdin is not None else subprocess.DEVNULL)
            proc.wait()
            seconds = time.perf_counter() - start
            cpu = _children_cpu() - cpu
        out.seek(0)
        err.seek(0)
        return Run(start, seconds, proc.returncode, out.read().decode(errors="replace"),
                   err.read().decode(errors="replace"), cpu)


def peak_rss_kib(argv, ns=None, env=None, stdin=None):
    """Peak resident memory of argv, as GNU time reports it (its ru_maxrss).

    Not our own wait4: a child started from this big Python inherits its high-water mark, so
    the count must come from a small parent. The peak is the process's or that of a child it
    waited for, whichever is larger (nft, the agent's child, is smaller than the agent).
    """
    done = run(["/usr/bin/time", "-f", "maxrss %M"] + list(argv), ns=ns, env=env, stdin=stdin)
    last = done.err.strip().split("\n")[-1]
    if done.code != 0 or not last.startswith("maxrss "):
        raise RuntimeError(f"{argv} failed ({done.code}): {done.out}{done.err}")
    return int(last.split()[1])


def start(argv, ns=None, env=None, **kwargs):
    """A long-running child (server, monitor, daemon) in namespace ns; stop it with stop()."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    with inside(ns):
        return subprocess.Popen(argv, env=env, **kwargs)


def stop(proc, timeout=5):
    """End a child we started, by its pid: TERM, then KILL if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def summary(samples):
    """median, min, max, n of a list of numbers (None when there are none)."""
    if not samples:
        return None
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "n": len(samples)}
