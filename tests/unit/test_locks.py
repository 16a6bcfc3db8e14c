"""The apply lock: one holder at a time; "held by another" is a bounded wait, "cannot be made"
an error at once; a lock left by a dead process never blocks, and two waiters never both break
it. flock(2) on CPython; the directory lock is what interpreters without flock use."""

import os
import subprocess
import sys

import pytest
from netns import AGENT
from vpnpassthrough import locks

HOLD = """
import sys, time
sys.path.insert(0, {agent!r})
from vpnpassthrough import locks
with locks.apply_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def dead_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture
def holder(tmp_path):
    """Another process holding the flock lock until the test ends."""
    path = str(tmp_path / "lock")
    child = subprocess.Popen([sys.executable, "-c", HOLD.format(agent=AGENT), path],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "held\n"
    yield path
    child.stdin.close()
    child.wait(timeout=10)


def test_a_held_lock_is_waited_for_then_given_up_naming_it(holder):
    with pytest.raises(locks.LockError, match="another apply has held .*/lock for 0.2 s"):
        with locks.Flock(holder, wait_s=0.2):
            pass


def test_a_lock_that_cannot_be_made_fails_at_once_saying_so(tmp_path):
    (tmp_path / "file").write_text("")
    for where in (tmp_path / "missing" / "lock", tmp_path / "file" / "lock"):
        for lock in (locks.Flock(str(where), wait_s=60), locks.DirLock(str(where), wait_s=60)):
            with pytest.raises(locks.LockError, match="cannot create the lock"):
                with lock:
                    pass


def test_the_lock_of_a_dead_owner_is_broken(tmp_path):
    path = tmp_path / "lock.d"
    path.mkdir()
    (path / "pid").write_text(str(dead_pid()))
    with locks.DirLock(str(path)):
        assert (path / "pid").read_text() == str(os.getpid())
    assert not path.exists()


def test_a_live_directory_lock_is_waited_for_then_given_up(tmp_path):
    with locks.DirLock(str(tmp_path / "lock.d")):
        with pytest.raises(locks.LockError, match="another apply has held"):
            with locks.DirLock(str(tmp_path / "lock.d"), wait_s=0.2):
                pass


def test_of_two_waiters_at_a_stale_lock_only_one_breaks_it(tmp_path):
    """Waiter A finds the lock stale; before A breaks it, waiter B breaks it and takes it.
    A must then see B's lock as live, not break it too."""
    path = tmp_path / "lock.d"
    path.mkdir()
    (path / "pid").write_text(str(dead_pid()))
    a = locks.DirLock(str(path), wait_s=0.3)
    b = locks.DirLock(str(path))
    real_break = a._break
    holds = []

    def b_gets_there_first():
        b.__enter__()
        holds.append("b")
        return real_break()

    a._break = b_gets_there_first
    with pytest.raises(locks.LockError, match="another apply has held"):
        a.__enter__()
    assert holds == ["b"]
    assert (path / "pid").read_text() == str(os.getpid())  # still b's
    b.__exit__(None, None, None)
