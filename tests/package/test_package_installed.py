"""The packages unpacked into a staging root work from their own files alone, in a test
namespace: the launcher finds the agent beside it, the rpcd plugin finds the launcher, the
config is the root's own /etc/config, and nothing points into this repository; nothing is
written under the root's /usr while they run. Both formats: the .ipk's python3 variant as
.pyc (where this Python is 24.10's 3.11), the .apk's as sources, the MicroPython variant of
each as .mpy, run where no python3 can be found."""

import json
import os
import subprocess

import pytest
from apk_files import apk_name
from ipk_files import ipk_name
from netns import MICROPYTHON, eventually, write_config

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


VARIANTS = [("ipk", "vpnpassthrough", python3_env, "python3"),
            ("ipk", "vpnpassthrough-micro", micropython_env, "micropython"),
            ("apk", "vpnpassthrough", python3_env, "python3"),
            ("apk", "vpnpassthrough-micro", micropython_env, "micropython")]
IDS = ["ipk-python3", "ipk-micropython", "apk-python3", "apk-micropython"]


def usr_files(root):
    return sorted(os.path.join(d, f) for d, _s, names in os.walk(root / "usr") for f in names)


@pytest.fixture(params=VARIANTS, ids=IDS)
def installed(request, packages, apks, tmp_path):
    """(root, environment, interpreter) of one package unpacked into a fresh staging root;
    afterwards, nothing new under its /usr."""
    fmt, name, make_env, interpreter = request.param
    root = tmp_path / "root"
    if fmt == "ipk":
        packages[ipk_name(name)].install_into(root)
    else:
        apks[apk_name(name)].install_into(root)
    before = usr_files(root)
    env = make_env(tmp_path)
    env.update(VPNPASSTHROUGH_CONFIG_DIR=str(root / "etc" / "config"),
               VPNPASSTHROUGH_STATE_DIR=str(tmp_path / "state"),
               VPNPASSTHROUGH_FW4_LOCK=str(tmp_path / "fw4.lock"),
               VPNPASSTHROUGH_SYSLOG=str(tmp_path / "no-syslog"))
    yield root, env, interpreter
    assert usr_files(root) == before


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
        eventually(lambda: 'ct helper set "pptp"' in (netns.nft_table() or ""),
                   "the daemon applies at start", 10)
        write_config(env["VPNPASSTHROUGH_CONFIG_DIR"], pptp="0")
        eventually(lambda: "pptp_blocked" in (netns.nft_table() or ""),
                   "the daemon applies the commit", 10)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
