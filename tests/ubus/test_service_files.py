"""The files that make the agent an OpenWrt service: the procd init script, the uci-defaults
script that adds the firewall include, the rpcd ACL; and the syslog lines the agent writes.

procd and the uci command are not available here, so the init script runs under
tests/ubus/fakes/procd.sh (records each procd_* call) and the uci-defaults script under
tests/ubus/fakes/uci (edits committed files with the agent's UCI code); the reload itself runs
the real agent in a namespace.
"""

import json
import os
import socket
import subprocess

import pytest
from netns import AGENT, FAKES, MICROPYTHON, REPO, agent_argv, write_config
from vpnpassthrough import api, syslog, uci

INIT = os.path.join(REPO, "files/etc/init.d/vpnpassthrough")
PLUGIN = os.path.join(REPO, "files/usr/libexec/rpcd/vpnpassthrough")
UCI_DEFAULTS = os.path.join(REPO, "files/etc/uci-defaults/90-vpnpassthrough")
HOTPLUG = os.path.join(REPO, "files/etc/hotplug.d/iface/30-vpnpassthrough")
ACL = os.path.join(REPO, "files/usr/share/rpcd/acl.d/luci-app-vpnpassthrough.json")


@pytest.mark.parametrize("script", [INIT, PLUGIN, UCI_DEFAULTS, HOTPLUG])
def test_shell_scripts_parse_and_those_run_as_programs_are_executable(script):
    assert subprocess.run(["sh", "-n", script], capture_output=True).returncode == 0
    # hotplug-call sources its scripts (as OpenWrt installs them: 0644)
    assert os.access(script, os.X_OK) == (script != HOTPLUG)


def run_init(tmp_path, *functions, env=None):
    log = tmp_path / "procd.log"
    log.write_text("")
    done = subprocess.run(["sh", os.path.join(FAKES, "procd.sh"), INIT] + list(functions),
                          capture_output=True, text=True,
                          env=dict(env or os.environ, PROCD_LOG=str(log)))
    return done, log.read_text().splitlines()


def test_init_script_starts_the_daemon_with_respawn_and_reload_triggers(tmp_path):
    done, calls = run_init(tmp_path, "start_service", "service_triggers")
    assert done.returncode == 0, done.stderr
    assert calls == [
        "procd_open_instance",
        "procd_set_param command /usr/sbin/vpnpassthrough daemon",
        "procd_set_param respawn",
        "procd_set_param stderr 1",
        "procd_close_instance",
        "procd_add_reload_trigger vpnpassthrough firewall network",
    ]


def test_init_script_reload_applies_and_fails_on_a_bad_config(netns, agent, tmp_path):
    # PROG stands for /usr/sbin/vpnpassthrough: the real agent, inside the test's namespace.
    prog = tmp_path / "vpnpassthrough"
    prog.write_text("#!/bin/sh\nexec ip netns exec {} {} \"$@\"\n".format(
        netns.name, " ".join(agent_argv())))
    prog.chmod(0o755)
    env = dict(os.environ, PROG_OVERRIDE=str(prog), PYTHONPATH=AGENT,
               VPNPASSTHROUGH_CONFIG_DIR=agent.config_dir,
               VPNPASSTHROUGH_STATE_DIR=agent.state_dir,
               VPNPASSTHROUGH_FW4_LOCK=str(tmp_path / "fw4.lock"),
               VPNPASSTHROUGH_SYSLOG=str(tmp_path / "no-syslog"))
    write_config(agent.config_dir, wan_device=["eth9"], l2tp="0")
    done, _calls = run_init(tmp_path, "reload_service", env=env)
    assert done.returncode == 0, done.stderr
    assert 'counter name "l2tp_blocked" drop' in netns.nft_table()

    write_config(agent.config_dir, wan_device=["eth9"], l2tp="sometimes")
    before = netns.nft_table()
    done, _calls = run_init(tmp_path, "reload_service", env=env)
    assert done.returncode != 0 and "vpnpassthrough.main.l2tp" in done.stderr
    assert netns.nft_table() == before


FIREWALL = """
config defaults
	option input 'REJECT'

config zone
	option name 'wan'
	list network 'wan'
"""


def test_uci_defaults_adds_the_firewall_include_once(tmp_path):
    (tmp_path / "firewall").write_text(FIREWALL)
    env = dict(os.environ, PATH=FAKES + ":" + os.environ["PATH"], PYTHONPATH=AGENT,
               UCI_CONFIG_DIR=str(tmp_path))
    first = subprocess.run(["sh", UCI_DEFAULTS], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr  # 0: the script is then deleted, as intended
    sections = uci.read_file(str(tmp_path), "firewall")
    include = uci.find(sections, "vpnpassthrough")
    assert include["type"] == "include"
    assert dict(include["options"]) == {"type": "nftables", "position": "ruleset-post",
                                        "path": "/var/run/vpnpassthrough/ruleset.nft"}
    assert [s["type"] for s in sections] == ["defaults", "zone", "include"]

    once = (tmp_path / "firewall").read_bytes()
    again = subprocess.run(["sh", UCI_DEFAULTS], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and (tmp_path / "firewall").read_bytes() == once


def test_the_include_points_where_the_agent_writes_its_ruleset():
    assert api.DEFAULT_STATE_DIR + "/ruleset.nft" == "/var/run/vpnpassthrough/ruleset.nft"
    with open(UCI_DEFAULTS) as f:
        assert "path=" + api.DEFAULT_STATE_DIR + "/ruleset.nft\n" in f.read()


def test_acl_grants_reading_status_and_writing_switches():
    with open(ACL) as f:
        acl = json.load(f)["luci-app-vpnpassthrough"]
    assert acl["read"] == {"ubus": {"vpnpassthrough": ["status", "tunnels", "check"]},
                           "uci": ["vpnpassthrough"]}
    assert acl["write"] == {"ubus": {"vpnpassthrough": ["reload", "set"]},
                            "uci": ["vpnpassthrough"]}
    granted = acl["read"]["ubus"]["vpnpassthrough"] + acl["write"]["ubus"]["vpnpassthrough"]
    assert sorted(granted) == sorted(api.METHODS)


def error(message):
    return {"message": message}


def test_syslog_logs_changes_and_new_errors_only():
    changed = {"changed": True, "actions": ["ruleset replaced", "cut 2 pptp flow(s)"], "ms": 41,
               "errors": []}
    assert syslog.messages(changed, None) == [
        (syslog.NOTICE, "applied: ruleset replaced, cut 2 pptp flow(s) (41 ms)")]
    assert syslog.messages({"changed": False, "actions": [], "errors": []}, changed) == []

    bad = {"changed": False, "actions": [], "errors": [error("vpnpassthrough.main.pptp: 'x'")]}
    assert syslog.messages(bad, changed) == [(syslog.ERR, "vpnpassthrough.main.pptp: 'x'")]
    assert syslog.messages(bad, bad) == []  # the same error again: status shows it, log not

    many = {"changed": False, "actions": [], "errors": [error(str(i)) for i in range(25)]}
    lines = syslog.messages(many, None)
    assert len(lines) == syslog.MAX_ERRORS + 1 and "15 more errors" in lines[-1][1]


def test_syslog_line_is_one_line_with_priority_and_tag():
    text = syslog.line(syslog.ERR, "first\nsecond")
    assert text.startswith("<27>vpnpassthrough[") and text.endswith("]: first second")


@pytest.mark.parametrize("python", [None, MICROPYTHON], ids=["cpython", "micropython"])
def test_syslog_line_reaches_the_socket(tmp_path, python):
    # MicroPython's connect() wants a raw sockaddr_un: both interpreters must get through.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "log.sock"))
    sock.settimeout(10)
    try:
        code = "from vpnpassthrough import syslog; syslog.send(syslog.NOTICE, 'hello')"
        subprocess.run(agent_argv(python)[:1] + ["-c", code], check=True,
                       env=dict(os.environ, PYTHONPATH=AGENT, MICROPYPATH=AGENT + ":.frozen",
                                VPNPASSTHROUGH_SYSLOG=str(tmp_path / "log.sock")))
        text = sock.recv(4096).decode()
    finally:
        sock.close()
    assert text.startswith("<29>vpnpassthrough[") and text.endswith("]: hello")
