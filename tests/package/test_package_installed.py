"""The packages unpacked into a staging root work from their own files alone, in a test
namespace: the launcher finds the agent beside it, the rpcd plugin finds the launcher, the
config is the root's own /etc/config, and nothing points into this repository. The same for
the MicroPython variant, run where no python3 can be found."""

import json
import os
import subprocess
import time

import pytest
from ipk_files import ipk_name
from netns import MICROPYTHON, write_config

METHODS = {"status", "tunnels", "check", "reload", "set"}
PROTOCOLS = {"ipsec", "pptp", "l2tp"}


def python3_env(_tmp_path):
    return {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}


def micropython_env(tmp_path):
    """A PATH with micropython and the system's tools but no python3 anywhere on it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(MICROPYTHON, bin_dir / "micropython")
    for tool in ("dirname", "flock", "mv", "sh"):
        os.symlink("/usr/bin/" + tool, bin_dir / tool)
    path = f"{bin_dir}:/usr/sbin:/sbin"
    found = subprocess.run(["/bin/sh", "-c", "command -v python3"], env={"PATH": path}, check=False)
    assert found.returncode != 0
    return {"PATH": path}


VARIANTS = [("vpnpassthrough", python3_env, "python3"),
            ("vpnpassthrough-micro", micropython_env, "micropython")]
IDS = ["python3", "micropython"]


@pytest.fixture(params=VARIANTS, ids=IDS)
def installed(request, packages, tmp_path):
    """(root, environment, interpreter) of one package unpacked into a fresh staging root."""
    name, make_env, interpreter = request.param
    root = tmp_path / "root"
    packages[ipk_name(name)].install_into(root)
    env = make_env(tmp_path)
    env.update(VPNPASSTHROUGH_CONFIG_DIR=str(root / "etc" / "config"),
               VPNPASSTHROUGH_STATE_DIR=str(tmp_path / "state"),
               VPNPASSTHROUGH_SYSLOG=str(tmp_path / "no-syslog"))
    return root, env, interpreter


def run_json(ns, argv, env, cwd, stdin=None):
    done = ns.run([str(a) for a in argv], env=env, cwd=cwd, input=stdin)
    return json.loads(done.stdout)


def test_nothing_outside_the_root_provides_the_agent(installed, tmp_path):
    _root, env, interpreter = installed
    found = subprocess.run(["/bin/sh", "-c", interpreter + " -c 'import vpnpassthrough'"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert found.returncode == 1 and "vpnpassthrough" in found.stdout + found.stderr


def test_check_apply_status_from_the_installed_files(installed, netns, tmp_path):
    root, env, _interpreter = installed
    cli = [root / "usr" / "sbin" / "vpnpassthrough"]
    assert run_json(netns, cli + ["check"], env, tmp_path) == {"ok": True, "errors": []}

    outcome = run_json(netns, cli + ["apply"], env, tmp_path)
    assert (outcome["ok"], outcome["actions"]) == (True, ["ruleset replaced"])
    assert 'ct helper set "pptp"' in netns.nft_table()

    status = run_json(netns, cli + ["status"], env, tmp_path)
    assert status["enabled"] is True
    assert {name: p["state"] for name, p in status["protocols"].items()} == {
        name: "passing" for name in PROTOCOLS}

    outcome = run_json(netns, cli + ["set", "pptp=0"], env, tmp_path)
    assert outcome["ok"] is True
    assert "option pptp '0'" in (root / "etc" / "config" / "vpnpassthrough").read_text()
    assert 'counter name "pptp_blocked" drop' in netns.nft_table()


def test_rpcd_plugin_answers_from_the_staging_root(installed, netns, tmp_path):
    root, env, _interpreter = installed
    plugin = root / "usr" / "libexec" / "rpcd" / "vpnpassthrough"
    assert set(run_json(netns, [plugin, "list"], env, tmp_path)) == METHODS
    reply = run_json(netns, [plugin, "call", "status"], env, tmp_path,
                     stdin='{"ubus_rpc_session": "0123456789abcdef0123456789abcdef"}')
    assert set(reply["protocols"]) == PROTOCOLS


def test_service_command_follows_a_commit(installed, netns, tmp_path):
    """What the init script starts (`vpnpassthrough daemon`) applies at start and after a
    commit of the root's config; stopped by its pid afterwards."""
    root, env, _interpreter = installed
    daemon = netns.popen([str(root / "usr" / "sbin" / "vpnpassthrough"), "daemon"], env=env,
                         cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert eventually(lambda: 'ct helper set "pptp"' in (netns.nft_table() or ""))
        write_config(env["VPNPASSTHROUGH_CONFIG_DIR"], pptp="0")
        assert eventually(lambda: "pptp_blocked" in (netns.nft_table() or ""))
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def eventually(probe, timeout=10.0):
    """True as soon as probe() is; False after timeout (the bound, not a speed check)."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True

