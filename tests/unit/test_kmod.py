"""PPTP helper modules: observed states, and load/unload order around the ruleset.

This kernel has the helpers built in and cannot load modules, so ordering is tested against a
fake module root: a directory standing in for /proc/modules, /sys/module and /lib/modules,
with a recording modprobe/rmmod (and an nft wrapper that logs, then runs the real nft) on
PATH. The apply itself runs for real inside a test namespace; so does firewall4's own pptp
helper object, which holds the module on every stock router.
"""

import json
import os
import sys
import textwrap

from netns import AGENT, write_config
from vpnpassthrough import kmod

RELEASE = "6.6.73"


def fake_root(tmp_path, loaded=(), files=(), builtin=(), release=RELEASE, proc=True):
    root = tmp_path / "root"
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/osrelease").write_text(release + "\n")
    if proc:
        (root / "proc/modules").write_text(
            "".join("{} 16384 0 - Live 0x0\n".format(n) for n in loaded))
    (root / "sys/module").mkdir(parents=True)
    for name in list(loaded) + list(builtin):
        (root / "sys/module" / name).mkdir()
    (root / "lib/modules" / release).mkdir(parents=True)
    for name in files:
        (root / "lib/modules" / release / (name + ".ko")).write_text("")
    return str(root) + "/"


def test_this_kernel_has_the_helpers_built_in():
    assert dict(kmod.observe()) == {"nf_conntrack_pptp": "builtin", "nf_nat_pptp": "builtin"}


def test_states_from_a_module_root(tmp_path):
    root = fake_root(tmp_path, loaded=["nf_conntrack_pptp"], files=["nf_conntrack_pptp"])
    assert list(kmod.observe(root).items()) == [("nf_conntrack_pptp", "loaded"),
                                                ("nf_nat_pptp", "missing")]


def test_available_and_builtin(tmp_path):
    root = fake_root(tmp_path, files=["nf_conntrack_pptp"], builtin=["nf_nat_pptp"])
    assert dict(kmod.observe(root)) == {"nf_conntrack_pptp": "available",
                                        "nf_nat_pptp": "builtin"}


def test_kernel_without_module_support_means_builtin(tmp_path):
    root = fake_root(tmp_path, proc=False)
    assert set(kmod.observe(root).values()) == {"builtin"}


def test_kernels_before_5_1_need_the_gre_modules_first(tmp_path):
    root = fake_root(tmp_path, release="4.14.200", files=["nf_conntrack_proto_gre"])
    assert list(kmod.observe(root)) == ["nf_conntrack_proto_gre", "nf_nat_proto_gre",
                                        "nf_conntrack_pptp", "nf_nat_pptp"]
    assert kmod.module_names("5.1.0") == ("nf_conntrack_pptp", "nf_nat_pptp")
    assert kmod.module_names("5.0.21")[0] == "nf_conntrack_proto_gre"


# Recording stand-ins for OpenWrt's kmodloader: they edit the fake /proc/modules.
MODPROBE = """#!/bin/sh
echo "modprobe $1" >> "$FAKE_LOG"
echo "$1 16384 0 - Live 0x0" >> "$FAKE_ROOT/proc/modules"
mkdir -p "$FAKE_ROOT/sys/module/$1"
"""
RMMOD = """#!/bin/sh
echo "rmmod $1" >> "$FAKE_LOG"
if [ -e "$FAKE_ROOT/busy-$1" ]; then echo "rmmod: $1 is in use" >&2; exit 1; fi
grep -v "^$1 " "$FAKE_ROOT/proc/modules" > "$FAKE_ROOT/modules.new"
mv "$FAKE_ROOT/modules.new" "$FAKE_ROOT/proc/modules"
rmdir "$FAKE_ROOT/sys/module/$1"
"""
LOGGING = """#!/bin/sh
echo "{name} $1" >> "$FAKE_LOG"
exec {path} "$@"
"""


def recorder(tmp_path, root):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {"modprobe": MODPROBE, "rmmod": RMMOD,
               "nft": LOGGING.format(name="nft", path="/usr/sbin/nft")}
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    env = dict(os.environ, FAKE_ROOT=root, FAKE_LOG=str(log), PYTHONPATH=AGENT,
               VPNPASSTHROUGH_FW4_LOCK=str(tmp_path / "fw4.lock"),
               PATH=str(bin_dir) + ":" + os.environ["PATH"])
    return log, env


APPLY = textwrap.dedent("""
    import json, sys
    from vpnpassthrough import api, engine, status
    config_dir, state_dir, root = sys.argv[1:]
    ctx = dict(api.context(config_dir, state_dir), sysroot=root)
    outcome = engine.apply(ctx)
    print(json.dumps({"outcome": outcome, "status": status.status(ctx)}))
""")


def steps(log):
    """What changed the system, in order: module loads and removals, nft transactions."""
    return [line for line in log.read_text().split("\n")
            if line.startswith(("modprobe", "rmmod", "nft -f"))]


def apply_with(netns, agent, root, env):
    done = netns.run([sys.executable, "-c", APPLY, agent.config_dir, agent.state_dir, root],
                     env=env)
    return json.loads(done.stdout)


def test_load_before_ruleset_and_unload_after_it_nat_helper_first(netns, agent, tmp_path):
    root = fake_root(tmp_path, files=["nf_conntrack_pptp", "nf_nat_pptp"])
    log, env = recorder(tmp_path, root)
    write_config(agent.config_dir)
    result = apply_with(netns, agent, root, env)
    assert steps(log) == ["modprobe nf_conntrack_pptp", "modprobe nf_nat_pptp", "nft -f"]
    assert result["status"]["pptp"]["modules"] == {"nf_conntrack_pptp": "loaded",
                                                   "nf_nat_pptp": "loaded"}
    assert result["status"]["protocols"]["pptp"]["state"] == "passing"

    log.write_text("")
    write_config(agent.config_dir, pptp="0")
    result = apply_with(netns, agent, root, env)
    assert steps(log) == ["nft -f", "rmmod nf_nat_pptp", "rmmod nf_conntrack_pptp"]
    assert result["outcome"]["actions"] == ["ruleset replaced", "cut 0 pptp flow(s)",
                                            "unloaded nf_nat_pptp", "unloaded nf_conntrack_pptp"]


def switch_pptp_off_while_in_use(netns, agent, tmp_path):
    """Both modules loaded, nf_conntrack_pptp held by something, then pptp '0' applied."""
    root = fake_root(tmp_path, loaded=["nf_conntrack_pptp", "nf_nat_pptp"],
                     files=["nf_conntrack_pptp", "nf_nat_pptp"])
    (tmp_path / "root" / "busy-nf_conntrack_pptp").write_text("")
    _log, env = recorder(tmp_path, root)
    write_config(agent.config_dir, pptp="0")
    return apply_with(netns, agent, root, env)


def test_busy_module_is_reported_and_the_apply_still_succeeds(netns, agent, tmp_path):
    result = switch_pptp_off_while_in_use(netns, agent, tmp_path)
    assert result["outcome"]["ok"] is True
    assert result["status"]["pptp"]["modules"] == {"nf_conntrack_pptp": "busy",
                                                   "nf_nat_pptp": "available"}
    assert result["status"]["protocols"]["pptp"]["state"] == "blocked"
    assert result["outcome"]["warnings"][0]["message"] == (
        "nf_conntrack_pptp stays loaded: rmmod nf_conntrack_pptp failed: rmmod: "
        "nf_conntrack_pptp is in use; the drop rules still block PPTP")
    assert 'counter name "pptp_blocked" drop' in netns.nft_table()


def test_a_module_firewall4s_own_helper_holds_is_reported_held_by_firewall4(netns, agent,
                                                                           tmp_path):
    netns.run(["nft", "add table inet fw4; add ct helper inet fw4 pptp "
                      "{ type \"pptp\" protocol tcp; }"])
    result = switch_pptp_off_while_in_use(netns, agent, tmp_path)
    assert result["outcome"]["warnings"][0]["message"].startswith(
        "nf_conntrack_pptp stays loaded (held by firewall4 (table inet fw4)): ")
    assert result["status"]["pptp"]["held_by"] == ["firewall4 (table inet fw4)"]
    assert result["status"]["protocols"]["pptp"]["state"] == "blocked"
    assert "ct helper" in netns.run(["nft", "list", "table", "inet", "fw4"]).stdout


def test_missing_modules_degrade_pptp_without_failing(netns, agent, tmp_path):
    root = fake_root(tmp_path)
    log, env = recorder(tmp_path, root)
    write_config(agent.config_dir)
    result = apply_with(netns, agent, root, env)
    assert result["outcome"]["ok"] is True
    assert "modprobe" not in log.read_text()
    assert result["status"]["protocols"]["pptp"]["state"] == "degraded"
    assert "install kmod-nf-nathelper-extra" in result["status"]["errors"][0]["message"]
    assert "ct helper" not in netns.nft_table()


def test_the_package_to_install_is_the_one_of_this_systems_package_manager(tmp_path):
    root = fake_root(tmp_path)
    assert kmod.package(root) == "kmod-nf-nathelper-extra"  # opkg: OpenWrt 24.10
    os.makedirs(root + "lib/apk/db")
    assert kmod.package(root) == "kmod-nf-nathelper-pptp"  # apk: 25.12 on
