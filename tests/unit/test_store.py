"""The apply lock: one apply at a time, and a lock left by a dead process does not block."""

import os
import subprocess

import pytest
from vpnpassthrough import store


def dead_pid():
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_lock_of_a_dead_process_is_broken(tmp_path):
    os.mkdir(tmp_path / "lock")
    (tmp_path / "lock" / "pid").write_text(str(dead_pid()))
    with store.Lock(str(tmp_path)):
        assert (tmp_path / "lock" / "pid").read_text() == str(os.getpid())
    assert not (tmp_path / "lock").exists()


def test_live_lock_makes_the_next_apply_wait_then_give_up(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "LOCK_WAIT_S", 0.2)
    with store.Lock(str(tmp_path)):
        with pytest.raises(OSError, match="another apply holds"):
            with store.Lock(str(tmp_path)):
                pass
