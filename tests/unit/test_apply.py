"""The real CLI against the real kernel, inside a namespace the test creates.

The table appears, changes and disappears with the config; an apply with nothing to change
runs no nft transaction (the table keeps its kernel handle); a failed transaction or a bad
config leaves the previous table in place byte for byte, and status says why.
"""

import json
import os
import shutil
import sys

import pytest
from netns import MICROPYTHON, agent_env, write_config

PYTHONS = [None, MICROPYTHON]
IDS = ["cpython", "micropython"]


def listing(ns):
    """The table with kernel handles: any transaction on it shows as new handles."""
    done = ns.run(["nft", "-a", "list", "table", "inet", "vpnpassthrough"], check=False)
    return done.stdout if done.returncode == 0 else None


def apply(agent, ns, python=None, **kwargs):
    done = agent.run(ns, "apply", python=python, **kwargs)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None


def status(agent, ns):
    return json.loads(agent.run(ns, "status", check=True).stdout)


@pytest.mark.parametrize("python", PYTHONS, ids=IDS)
def test_table_follows_the_config(netns, agent, python):
    write_config(agent.config_dir, wan_device=["eth9"])
    code, outcome = apply(agent, netns, python)
    assert (code, outcome["actions"]) == (0, ["ruleset replaced"])
    table = netns.nft_table()
    assert 'ct helper set "pptp"' in table and 'elements = { "eth9" }' in table

    write_config(agent.config_dir, wan_device=["eth9"], pptp="0")
    code, outcome = apply(agent, netns, python)
    assert code == 0 and outcome["actions"][0] == "ruleset replaced"
    table = netns.nft_table()
    assert 'counter name "pptp_blocked" drop' in table and "ct helper" not in table

    write_config(agent.config_dir, enabled="0")
    code, outcome = apply(agent, netns, python)
    assert (code, outcome["actions"]) == (0, ["ruleset removed"])
    assert netns.nft_table() is None
    with open(os.path.join(agent.state_dir, "ruleset.nft")) as f:
        assert f.read() == ""


@pytest.mark.parametrize("python", PYTHONS, ids=IDS)
def test_second_apply_runs_no_transaction(netns, agent, python):
    write_config(agent.config_dir, l2tp="0")
    assert apply(agent, netns, python)[0] == 0
    before = listing(netns)
    code, outcome = apply(agent, netns, python)
    assert (code, outcome["changed"], outcome["actions"]) == (0, False, [])
    assert listing(netns) == before


def test_include_file_holds_exactly_what_was_loaded(netns, agent):
    write_config(agent.config_dir, ipsec="0")
    apply(agent, netns)
    printed = agent.run(netns, "ruleset", check=True).stdout
    with open(os.path.join(agent.state_dir, "ruleset.nft")) as f:
        assert f.read() == printed


def test_nft_missing_keeps_the_previous_table(netns, agent, tmp_path):
    write_config(agent.config_dir)
    apply(agent, netns)
    before = listing(netns)
    write_config(agent.config_dir, pptp="0")
    bin_dir = tmp_path / "no-nft"
    bin_dir.mkdir()
    for tool in ("flock", "sh", "mv"):  # everything the load needs but nft
        (bin_dir / tool).symlink_to(shutil.which(tool))
    done = netns.run(["env", "PATH=" + str(bin_dir), sys.executable, "-m", "vpnpassthrough",
                      "apply"], check=False, env=agent_env(agent.config_dir, agent.state_dir))
    assert done.returncode == 1
    assert listing(netns) == before
    reply = status(agent, netns)
    assert [e for e in reply["errors"] if e["message"].startswith("nft -f failed: ") and
            "nft: not found" in e["message"]], reply["errors"]
    assert reply["protocols"]["pptp"]["state"] == "degraded"  # off, but not blocked yet


REJECTING_NFT = """#!/bin/sh
# Test-side injection: the real nft and kernel get the agent's file plus one rule that jumps
# to a chain that does not exist, which the kernel rejects, aborting the whole transaction.
# Anything but a load goes to the real nft as it is.
[ "$1" = "-f" ] || exec /usr/sbin/nft "$@"
cp "$2" "$2.rejected"
echo 'add rule inet vpnpassthrough forward jump no_such_chain' >> "$2.rejected"
exec /usr/sbin/nft -f "$2.rejected"
"""


def test_kernel_rejection_keeps_the_previous_table_byte_for_byte(netns, agent, tmp_path):
    write_config(agent.config_dir)
    apply(agent, netns)
    before = listing(netns)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nft").write_text(REJECTING_NFT)
    (bin_dir / "nft").chmod(0o755)
    write_config(agent.config_dir, pptp="0", l2tp="0")
    code, outcome = apply(agent, netns, extra_path=str(bin_dir))
    assert code == 1 and not outcome["ok"]
    assert listing(netns) == before
    reply = status(agent, netns)
    assert [e for e in reply["errors"] if "no_such_chain" in e["message"]], reply["errors"]
    assert reply["protocols"]["pptp"]["state"] == "degraded"  # off, but not blocked yet
    assert reply["protocols"]["ipsec"]["state"] == "passing"


def test_bad_config_leaves_last_good_state_and_status_names_the_option(netns, agent):
    write_config(agent.config_dir, pptp="0")
    apply(agent, netns)
    before = listing(netns)
    write_config(agent.config_dir, pptp="perhaps")
    code, outcome = apply(agent, netns)
    assert code == 1 and outcome["errors"][0]["option"] == "pptp"
    assert listing(netns) == before
    reply = status(agent, netns)
    assert reply["protocols"]["pptp"]["state"] == "blocked"
    assert reply["errors"][0]["value"] == "perhaps"


def test_check_exits_1_naming_section_option_value(netns, agent):
    write_config(agent.config_dir, l2tp="sometimes")
    done = agent.run(netns, "check")
    assert done.returncode == 1
    assert "vpnpassthrough.main.l2tp: 'sometimes' is not a boolean" in done.stderr
    assert json.loads(done.stdout)["errors"][0]["value"] == "sometimes"

