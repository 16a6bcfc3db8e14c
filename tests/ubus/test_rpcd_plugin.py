"""The ubus object `vpnpassthrough` as rpcd serves it: the plugin file run from a staging root
the way rpcd runs it (`list`; `call METHOD` with the JSON arguments on stdin, the reply on
stdout), against the real agent and the real kernel inside a namespace the test created.

Every method answers with and without LuCI's `ubus_rpc_session`; every kind of bad input gets
an `error` that says what was wrong, and then nothing is written (the config file is the same
byte for byte) and nothing is applied (no state, no table).
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from netns import AGENT, MICROPYTHON, SESSION, standalone_micropython, write_config
from vpnpassthrough import api

METHOD_ARGS = {"status": {}, "tunnels": {}, "check": {}, "reload": {}, "set": {"pptp": False}}
SWITCHES = {"enabled": True, "ipsec": True, "pptp": True, "l2tp": True}


def config_bytes(agent):
    with open(os.path.join(agent.config_dir, "vpnpassthrough"), "rb") as f:
        return f.read()


def test_list_declares_every_method_without_reading_stdin(plugin):
    # rpcd waits for `list` with no timeout: it must answer without waiting for input.
    read_end, write_end = os.pipe()
    try:
        done = subprocess.run([plugin.path, "list"], stdin=read_end, capture_output=True,
                              env=plugin.base_env, timeout=20)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert json.loads(done.stdout) == {"status": {"tunnels": True}, "tunnels": {}, "check": {},
                                       "reload": {}, "set": SWITCHES}
    assert set(json.loads(done.stdout)) == set(api.METHODS)


@pytest.mark.parametrize("session", [False, True], ids=["plain", "luci"])
@pytest.mark.parametrize("method", sorted(METHOD_ARGS))
def test_every_method_answers(netns, agent, plugin, method, session):
    write_config(agent.config_dir, wan_device=["eth9"])
    args = dict(METHOD_ARGS[method], **({"ubus_rpc_session": SESSION} if session else {}))
    reply = plugin.call(netns, method, args)
    assert "error" not in reply, reply
    if method == "status":
        assert set(reply["protocols"]) == {"ipsec", "pptp", "l2tp"}
        for protocol in reply["protocols"].values():
            assert set(protocol) >= {"enabled", "state", "counters", "tunnels"}
        assert {"helper", "modules"} <= set(reply["pptp"])
        assert {"enabled", "wan_devices", "applied", "errors"} <= set(reply)
    elif method == "tunnels":
        assert reply == {"tunnels": []}
    elif method == "check":
        assert reply == {"ok": True, "errors": []}
    elif method == "reload":
        assert (reply["ok"], reply["actions"], reply["errors"]) == (True, ["ruleset replaced"], [])
        assert 'ct helper set "pptp"' in netns.nft_table()
    else:
        assert reply["ok"] is True and "ruleset replaced" in reply["actions"]
        assert b"\toption pptp '0'\n" in config_bytes(agent)
        assert 'counter name "pptp_blocked" drop' in netns.nft_table()


NOT_JSON = ["{pptp: false}", "{} {}", "[", b"\xff\xfe{}", "{\"pptp\": tru}"]
NOT_AN_OBJECT = [("[]", "an array"), ('"status"', "a string"), ("1", "a number"),
                 ("null", "null"), ("true", "a boolean")]
BAD_OBJECTS = (
    [(method, {"verbose": True}, "unknown argument 'verbose'") for method in METHOD_ARGS]
    + [("set", {"pptp": 0}, "'pptp' must be a boolean, not a number"),
       ("set", {"ipsec": "0"}, "'ipsec' must be a boolean, not a string"),
       ("set", {"enabled": None}, "'enabled' must be a boolean, not null"),
       ("set", {"l2tp": [False]}, "'l2tp' must be a boolean, not an array"),
       ("set", {"pptp": False, "wan_device": "eth0"}, "unknown argument 'wan_device'"),
       ("set", {}, "set takes at least one of"),
       ("firewall", {}, "unknown method 'firewall'")])
BAD_INPUT = (
    [(method, raw, "arguments are not JSON") for method in METHOD_ARGS for raw in NOT_JSON]
    + [(method, raw, "must be a JSON object, not " + kind)
       for method in METHOD_ARGS for raw, kind in NOT_AN_OBJECT]
    + [(method, json.dumps(args), says) for method, args, says in BAD_OBJECTS]
    + [(method, json.dumps(dict(args, ubus_rpc_session=SESSION)), says)
       for method, args, says in BAD_OBJECTS])


@pytest.mark.parametrize("method,raw,says", BAD_INPUT)
def test_bad_input_is_refused_and_changes_nothing(netns, agent, plugin, method, raw, says):
    write_config(agent.config_dir, pptp="1", wan_device=["eth9"])
    before = config_bytes(agent)
    reply, done = plugin.run(netns, ["call", method], raw)
    assert list(reply) == ["error"] and says in reply["error"], reply
    assert done.stdout.count(b"\n") == 1 and done.stderr == b""
    assert config_bytes(agent) == before
    assert not os.path.exists(agent.state_dir)
    assert netns.nft_table() is None


@pytest.mark.parametrize("argv", [[], ["call"], ["call", "status", "extra"], ["describe"]])
def test_a_command_rpcd_does_not_use_gets_usage(plugin, argv):
    # Run outside a namespace: the protocol refuses before any method could touch the system.
    done = subprocess.run([plugin.path] + argv, input=b"{}", capture_output=True,
                          env=plugin.base_env, timeout=20)
    reply = json.loads(done.stdout)
    assert list(reply) == ["error"] and "usage" in reply["error"]


def test_set_on_a_file_that_is_not_valid_uci_writes_nothing(netns, agent, plugin):
    path = os.path.join(agent.config_dir, "vpnpassthrough")
    with open(path, "w") as f:
        f.write("config vpnpassthrough 'main'\n\toption pptp 'unterminated\n")
    before = config_bytes(agent)
    reply = plugin.call(netns, "set", {"pptp": False, "ubus_rpc_session": SESSION})
    assert list(reply) == ["error"] and "nothing was written" in reply["error"]
    assert config_bytes(agent) == before and netns.nft_table() is None


def test_set_then_status_round_trip_changes_the_table(netns, agent, plugin):
    write_config(agent.config_dir, wan_device=["eth9", "pppoe-wan"], cut_on_disable="1")
    assert plugin.call(netns, "reload", {"ubus_rpc_session": SESSION})["ok"] is True
    assert 'ct helper set "pptp"' in netns.nft_table()

    reply = plugin.call(netns, "set", {"pptp": False, "ubus_rpc_session": SESSION})
    assert reply["ok"] is True and reply["actions"][0] == "ruleset replaced"
    table = netns.nft_table()
    assert 'counter name "pptp_blocked" drop' in table and "ct helper" not in table
    status = plugin.call(netns, "status", {"ubus_rpc_session": SESSION})
    assert status["protocols"]["pptp"]["enabled"] is False
    assert status["protocols"]["pptp"]["state"] == "blocked"
    assert status["protocols"]["ipsec"]["state"] == "passing"
    assert status["wan_devices"] == ["eth9", "pppoe-wan"]
    written = config_bytes(agent).decode()
    assert "\tlist wan_device 'eth9'\n\tlist wan_device 'pppoe-wan'\n" in written
    assert "\toption cut_on_disable '1'\n" in written and "\toption pptp '0'\n" in written

    reply = plugin.call(netns, "set", {"pptp": True, "l2tp": False})
    assert reply["ok"] is True
    table = netns.nft_table()
    assert 'ct helper set "pptp"' in table and 'counter name "l2tp_blocked" drop' in table
    status = plugin.call(netns, "status", {})
    assert [status["protocols"][p]["state"] for p in ("ipsec", "pptp", "l2tp")] == [
        "passing", "passing", "blocked"]


def test_two_reloads_at_once_end_with_one_consistent_table(netns, agent, plugin):
    write_config(agent.config_dir, wan_device=["eth9"])
    assert plugin.call(netns, "reload", {})["ok"] is True
    for round_, pptp in enumerate(["0", "1", "0"]):
        write_config(agent.config_dir, wan_device=["eth9"], pptp=pptp)
        calls = [netns.popen([plugin.path, "call", "reload"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=plugin.base_env) for _ in range(2)]
        replies = [json.loads(proc.communicate(b'{"ubus_rpc_session": "x"}', timeout=60)[0])
                   for proc in calls]
        assert all(r["ok"] is True and r["errors"] == [] for r in replies), replies
        # Serialised by the apply lock: one of them replaced the table, the other found
        # nothing left to do.
        changed = sorted(replies, key=lambda r: r["changed"])
        assert (changed[0]["actions"], changed[1]["actions"][0]) == ([], "ruleset replaced"), round_
        tables = netns.run(["nft", "list", "tables"]).stdout
        assert tables.count("table inet vpnpassthrough") == 1
        with open(os.path.join(agent.state_dir, "ruleset.nft")) as f:
            assert f.read() == netns.run([sys.executable, "-m", "vpnpassthrough", "ruleset"],
                                         env=dict(plugin.base_env, PYTHONPATH=AGENT)).stdout
        blocked = 'counter name "pptp_blocked" drop' in netns.nft_table()
        assert blocked == (pptp == "0")


def test_plugin_runs_on_micropython_when_there_is_no_python3(netns, agent, plugin, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "ip", "nft", "flock", "mv", "modprobe", "rmmod", "sh"):
        found = subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True,
                               text=True).stdout.strip()
        if found:
            os.symlink(found, bin_dir / tool)
    os.symlink(MICROPYTHON, bin_dir / "micropython")
    env = dict(plugin.base_env, PATH=str(bin_dir))
    reply, _done = plugin.run(netns, ["list"], env=env)
    assert reply["set"] == SWITCHES
    write_config(agent.config_dir, wan_device=["eth9"])
    reply, _done = plugin.run(netns, ["call", "set"], '{"pptp": 0}', env=env)
    assert reply == {"error": "argument 'pptp' must be a boolean, not a number"}
    reply, _done = plugin.run(netns, ["call", "set"], '{"pptp": false, "ubus_rpc_session": "x"}',
                              env=env)
    assert reply["ok"] is True, reply
    assert 'counter name "pptp_blocked" drop' in netns.nft_table()


@pytest.mark.parametrize("version", ["1.23.0", "1.28.0"])
def test_openwrts_micropython_refuses_what_its_json_would_take(netns, agent, plugin, tmp_path,
                                                               version):
    """MicroPython 1.23 (OpenWrt 24.10, 25.12) reads '{"pptp":false' as {'pptp': False}; the
    plugin judges the text itself, so nothing is written or applied on any interpreter."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "ip", "nft", "flock", "mv", "sh"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    os.symlink(standalone_micropython(version), bin_dir / "micropython")
    env = dict(plugin.base_env, PATH=str(bin_dir))
    write_config(agent.config_dir, wan_device=["eth9"])
    before = config_bytes(agent)
    for raw in ('{"pptp":false', '{"pptp": false,}', b'{"pptp": false}\x00',
                b'{"pptp": "\xc0\xaf"}'):
        reply, _done = plugin.run(netns, ["call", "set"], raw, env=env)
        assert list(reply) == ["error"] and "not JSON" in reply["error"], (raw, reply)
    assert config_bytes(agent) == before and netns.nft_table() is None
    reply, _done = plugin.run(netns, ["call", "set"], '{"pptp": false}', env=env)
    assert reply["ok"] is True, reply
