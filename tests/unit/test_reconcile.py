"""The kernel decides what is in force, never the agent's record of it: a table deleted,
flushed or replaced behind the agent's back is reported as it is and put back by the next
apply; firewall4's lock is honoured; a state directory that is full, read-only, a file or
relative, or a damaged state file, never makes `status` lie or an apply stall. Real nft and
kernel in namespaces the tests create; tmpfs mounts in private mount namespaces."""

import json
import os
import subprocess
import sys
import time

import pytest
from netns import agent_env, write_config

BLOCKED = 'counter name "pptp_blocked" drop'


def cli(ns, agent, *args, env=None):
    done = agent.run(ns, *args)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done


def status(ns, agent):
    return cli(ns, agent, "status")[1]


def messages(reply):
    return " | ".join(e["message"] for e in reply["errors"])


@pytest.fixture
def blocked(netns, agent):
    """PPTP switched off and in force."""
    write_config(agent.config_dir, wan_device=["eth9"], pptp="0")
    assert cli(netns, agent, "apply")[0] == 0
    assert status(netns, agent)["protocols"]["pptp"]["state"] == "blocked"
    return netns


BEHIND_ITS_BACK = {
    "deleted": ["nft", "delete", "table", "inet", "vpnpassthrough"],
    "flushed": ["nft", "flush", "chain", "inet", "vpnpassthrough", "vpn_pptp"],
    "whole ruleset flushed": ["nft", "flush", "ruleset"],
}


@pytest.mark.parametrize("how", sorted(BEHIND_ITS_BACK))
def test_a_table_changed_behind_its_back_is_reported_then_put_back(blocked, agent, how):
    blocked.run(BEHIND_ITS_BACK[how])
    reply = status(blocked, agent)
    assert reply["protocols"]["pptp"]["state"] == "degraded", reply
    assert "behind the agent's back" in messages(reply)
    code, outcome, _done = cli(blocked, agent, "reload")
    assert (code, outcome["actions"]) == (0, ["ruleset replaced", "cut 0 pptp flow(s)"])
    assert BLOCKED in blocked.nft_table()
    assert status(blocked, agent)["protocols"]["pptp"]["state"] == "blocked"


def test_an_older_table_loaded_behind_its_back_is_put_back(netns, agent):
    write_config(agent.config_dir, wan_device=["eth9"])
    cli(netns, agent, "apply")
    with open(os.path.join(agent.state_dir, "ruleset.nft")) as f:
        old = f.read()
    write_config(agent.config_dir, wan_device=["eth9"], pptp="0")
    cli(netns, agent, "apply")
    netns.run(["nft", "-f", "-"], input=old)  # what a stale fw4 include would load
    assert status(netns, agent)["protocols"]["pptp"]["state"] == "degraded"
    assert cli(netns, agent, "reload")[1]["actions"][0] == "ruleset replaced"
    assert BLOCKED in netns.nft_table()


HOLD_LOCK = """
import fcntl, sys
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.readline()
"""


def test_no_load_while_firewall4_holds_its_lock(netns, agent, tmp_path):
    lock = str(tmp_path / "fw4.lock")
    env = dict(agent_env(agent.config_dir, agent.state_dir), VPNPASSTHROUGH_FW4_LOCK=lock)
    write_config(agent.config_dir, wan_device=["eth9"], pptp="0")
    fw4 = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, lock], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert fw4.stdout.readline() == "held\n"
        apply = netns.popen([sys.executable, "-m", "vpnpassthrough", "apply"], env=env,
                            stdout=subprocess.PIPE, text=True)
        for _ in range(10):  # a second: the agent waits and loads nothing meanwhile
            time.sleep(0.1)
            assert netns.nft_table() is None and apply.poll() is None
    finally:
        fw4.stdin.close()
        fw4.wait(timeout=10)
    assert json.loads(apply.communicate(timeout=30)[0])["ok"] is True
    assert BLOCKED in netns.nft_table()


TMPFS = """set -e
mount -t tmpfs -o size=64k none "$STATE"
run() {{ ip netns exec "$NS" "$@"; }}
run {python} -m vpnpassthrough apply >/dev/null
cp "$CONFIG_DIR/vpnpassthrough.next" "$CONFIG_DIR/vpnpassthrough"
free=$(df -k --output=avail "$STATE" | tail -1)
dd if=/dev/zero of="$STATE/filler" bs=1k count=$((free - {leave_kib})) 2>/dev/null
run {python} -m vpnpassthrough apply || true
echo '=== status'
run {python} -m vpnpassthrough status
echo '=== table'
run nft list table inet vpnpassthrough | grep -c 'name "pptp_blocked" drop' || true
rm "$STATE/filler"
echo '=== again'
run {python} -m vpnpassthrough apply >/dev/null
run {python} -m vpnpassthrough status
"""


@pytest.mark.parametrize("leave_kib,kernel_changed", [(0, False), (8, True)],
                         ids=["no room for the new ruleset", "no room for the record"])
def test_a_full_state_directory_never_makes_status_lie(netns, agent, tmp_path, leave_kib,
                                                      kernel_changed):
    write_config(agent.config_dir, wan_device=["eth9"])
    os.rename(write_config(agent.config_dir, wan_device=["eth9"], pptp="0"),
              os.path.join(agent.config_dir, "vpnpassthrough.next"))
    write_config(agent.config_dir, wan_device=["eth9"])
    os.makedirs(agent.state_dir)
    env = dict(agent_env(agent.config_dir, agent.state_dir), NS=netns.name,
               STATE=agent.state_dir, CONFIG_DIR=agent.config_dir)
    done = subprocess.run(["unshare", "--mount", "sh", "-c",
                           TMPFS.format(python=sys.executable, leave_kib=leave_kib)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    parts = dict(part.partition("\n")[::2] for part in done.stdout.split("=== ")[1:])
    full = json.loads(parts["status"])
    recovered = json.loads(parts["again"])
    assert (parts["table"].strip() != "0") == kernel_changed, parts["table"]
    assert full["protocols"]["pptp"]["state"] == "degraded", full  # never "passing", nor
    assert full["errors"], full                                     # "blocked" unrecorded
    assert recovered["protocols"]["pptp"]["state"] == "blocked", recovered


@pytest.mark.parametrize("where", ["read-only", "a file", "under a file"])
def test_a_state_directory_that_cannot_be_made_fails_at_once_in_one_line(netns, agent,
                                                                        tmp_path, where):
    write_config(agent.config_dir, wan_device=["eth9"])
    (tmp_path / "file").write_text("")
    state = {"read-only": "/proc/sys/vpnpassthrough", "a file": str(tmp_path / "file"),
             "under a file": str(tmp_path / "file" / "state")}[where]
    started = time.monotonic()
    done = netns.run([sys.executable, "-m", "vpnpassthrough", "--state-dir", state, "apply"],
                     check=False, env=agent_env(agent.config_dir, agent.state_dir))
    assert time.monotonic() - started < 20  # far below the 30 s a held lock is waited for
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "held" not in done.stderr, done.stderr


def test_a_relative_state_directory_is_made(netns, agent, tmp_path):
    write_config(agent.config_dir, wan_device=["eth9"])
    done = netns.run([sys.executable, "-m", "vpnpassthrough", "--state-dir", "rel/state",
                      "apply"], check=False, cwd=str(tmp_path),
                     env=agent_env(agent.config_dir, agent.state_dir))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rel/state/state.json").exists()


@pytest.mark.parametrize("content", ["null", "[]", "{}", '{"applied": null}', '{"appl',
                                     '{"applied": {"config": 1}, "last": null}'])
def test_a_damaged_state_file_is_replaced_not_obeyed(netns, agent, content):
    write_config(agent.config_dir, wan_device=["eth9"], pptp="0")
    os.makedirs(agent.state_dir)
    with open(os.path.join(agent.state_dir, "state.json"), "w") as f:
        f.write(content)
    code, outcome, done = cli(netns, agent, "apply")
    assert "Traceback" not in done.stderr
    assert BLOCKED in netns.nft_table()
    assert "state file" in messages(outcome) and "damaged" in messages(outcome)
    reply = status(netns, agent)
    assert reply["protocols"]["pptp"]["state"] == "blocked"


def test_modes_are_explicit_whatever_the_umask(netns, agent, tmp_path):
    write_config(agent.config_dir, wan_device=["eth9"])
    done = netns.run(["sh", "-c", 'umask 000; exec "$@"', "sh", sys.executable, "-m",
                      "vpnpassthrough", "apply"], env=agent_env(agent.config_dir,
                                                                agent.state_dir))
    assert done.returncode == 0, done.stderr
    state = agent.state_dir
    assert oct(os.stat(state).st_mode & 0o777) == "0o755"
    for name in ("state.json", "ruleset.nft"):
        assert oct(os.stat(os.path.join(state, name)).st_mode & 0o777) == "0o644", name


def test_a_symlink_planted_where_old_agents_wrote_temp_files_is_never_followed(netns, agent,
                                                                              tmp_path):
    write_config(agent.config_dir, wan_device=["eth9"])
    os.makedirs(agent.state_dir)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for pid in range(1, 400):  # the names `.NAME.PID.tmp` were predictable
        for name in ("state.json", "ruleset.nft", "pending.nft"):
            os.symlink(victim, os.path.join(agent.state_dir, ".{}.{}.tmp".format(name, pid)))
    assert cli(netns, agent, "apply")[0] == 0
    assert victim.read_text() == "precious"


def test_bytes_that_are_no_config_are_an_error_naming_the_line(netns, agent):
    with open(os.path.join(agent.config_dir, "vpnpassthrough"), "wb") as f:
        f.write(b"config vpnpassthrough 'main'\n\toption wan_zone 'w\xffan'\n")
    done = agent.run(netns, "check")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "vpnpassthrough (line 2): not UTF-8 text" in done.stderr


def test_status_before_the_first_apply_says_what_is_asked_and_that_it_is_not_in_force(netns,
                                                                                     agent):
    write_config(agent.config_dir, wan_device=["eth9"], pptp="0")
    reply = status(netns, agent)
    assert reply["enabled"] is True and reply["protocols"]["pptp"]["enabled"] is False
    assert reply["protocols"]["pptp"]["state"] == "degraded"  # asked off, nothing drops it yet
    assert reply["protocols"]["ipsec"]["state"] == "passing"  # nothing of ours drops it
    assert "not in force yet" in messages(reply)
