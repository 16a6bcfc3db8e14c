"""Record the agent's real `status` replies for the LuCI page's tests, as the page asks for them:
`status {"tunnels": true}`, which adds the tunnel rows.

The situations are played on the e2e topology (tests/e2e/topology.py: LAN clients → NAT router
running the agent → VPN server, in namespaces created and deleted here) by its VPN peers
(tests/e2e/peers.py), so counters and tunnels come from the kernel, not from a hand: client1
runs IPsec (IKE, NAT-T) and L2TP to the server, client2 holds a PPTP call to the server's
second address, and switching PPTP off cuts that call. The router also enables conntrack
timestamps, without which `tunnels` has no `since` (OpenWrt leaves them off).

Every reply comes from the real rpcd plugin protocol (`vpnpassthrough rpcd call status` with the
arguments on stdin) inside the router namespace, except "pptp_degraded": a missing helper module
cannot be staged on this kernel (the modules are built in), so that one calls engine.apply and
the method table's status in a Python process inside the namespace with a fake sysroot (in the
method context) whose /proc/modules lists nothing and whose /lib/modules holds no .ko, which is
how kmod.observe() sees a router lacking the helper package. "before_apply" is the committed
config before anything applied it, as at boot before the service starts.

    python3 tests/luci/record_replies.py [OUT_DIR]      (default: tests/luci/replies)
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "e2e")]

from netns import agent_argv, agent_env  # noqa: E402  (tests/ and tests/e2e are on the path)
from topology import CLIENTS, SERVER, SERVER_B, Topology  # noqa: E402
from traffic import Peers, blocked, passed, token  # noqa: E402

REPLIES = os.path.join(HERE, "replies")
SCENARIOS = ("before_apply", "no_tunnels", "all_passing", "pptp_blocked", "config_error",
             "disabled", "pptp_degraded")
ARGS = {"tunnels": True}
DEGRADED = """
import json, sys
from vpnpassthrough import api, engine
config_dir, state_dir, sysroot, args = sys.argv[1:5]
ctx = dict(api.context(config_dir, state_dir), sysroot=sysroot)
engine.apply(ctx)
print(json.dumps(api.call("status", json.loads(args), ctx)))
"""


def _expect(ok, scenario, what):
    if not ok:
        raise AssertionError("{}: {}".format(scenario, what))


def record(net):
    """The page's call: `ubus call vpnpassthrough status '{"tunnels": true}'`."""
    agent = net.agent
    done = net.router.run(agent_argv(agent.python) + ["rpcd", "call", "status"],
                          input=json.dumps(ARGS), env=agent_env(agent.config_dir, agent.state_dir))
    return json.loads(done.stdout)


def switch(net, **options):
    """A UCI commit (the switches on unless given) and `vpnpassthrough reload`."""
    net.agent.configure(**options)
    net.agent.reload()


def open_tunnels(peers):
    """client1: IPsec and L2TP exchanges; client2: a PPTP call that stays open."""
    outcome = peers.exchange("client1", 4, ["ike", "natt", "l2tp"])
    _expect(all(passed(outcome, kind, 4, CLIENTS["client1"][4]) for kind in outcome),
            "all_passing", "IPsec and L2TP answered: {}".format(outcome))
    client2 = peers.clients["client2"]
    opened = client2.call("pptp_open", name="live", server=SERVER_B[4], call_id=0x100,
                          token=token("client2"))
    gre = client2.call("gre", name="live", token=token("gre"))
    _expect(opened["ok"] and gre["answered"], "all_passing",
            "PPTP call answered: {} {}".format(opened, gre))


def try_vpns_with_pptp_off(peers):
    """client2 again: the cut call's GRE and a new call are dropped (and counted) by the agent,
    while its IPsec and L2TP exchanges pass."""
    gre = peers.clients["client2"].call("gre", name="live", token=token("cut"))
    outcome = peers.exchange("client2", 4, ["ike", "natt", "l2tp", "pptp"], server=SERVER_B[4])
    others = [passed(outcome, kind, 4, CLIENTS["client2"][4]) for kind in ("ike", "natt", "l2tp")]
    _expect(not gre["answered"] and blocked(outcome, "pptp") and all(others),
            "pptp_blocked", "only PPTP dropped: {} {}".format(gre, outcome))


def degraded_status(net):
    """status after an apply that finds no PPTP helper module (see the module docstring)."""
    sysroot = os.path.join(net.workdir, "sysroot") + "/"
    release = os.uname().release
    os.makedirs(sysroot + "proc/sys/kernel")
    with open(sysroot + "proc/sys/kernel/osrelease", "w") as f:
        f.write(release + "\n")
    with open(sysroot + "proc/modules", "w") as f:
        f.write("")
    os.makedirs(sysroot + "lib/modules/" + release)
    agent = net.agent
    done = net.router.run([sys.executable, "-c", DEGRADED, agent.config_dir, agent.state_dir,
                           sysroot, json.dumps(ARGS)],
                          env=agent_env(agent.config_dir, agent.state_dir))
    return json.loads(done.stdout)


def record_all():
    """{scenario: status reply}, each checked to be what its name says."""
    replies = {}
    with Topology() as net:
        net.router.run(["sysctl", "-qw", "net.netfilter.nf_conntrack_timestamp=1"])
        peers = Peers(net)
        net.agent.configure()
        replies["before_apply"] = record(net)
        switch(net)
        replies["no_tunnels"] = record(net)
        open_tunnels(peers)
        replies["all_passing"] = record(net)
        switch(net, pptp=0)
        try_vpns_with_pptp_off(peers)
        replies["pptp_blocked"] = record(net)
        net.agent.configure(pptp="maybe")
        net.agent.reply("reload")  # refused: the previous ruleset stays
        replies["config_error"] = record(net)
        switch(net, enabled=0)
        replies["disabled"] = record(net)
        net.agent.configure()
        replies["pptp_degraded"] = degraded_status(net)
    check(replies)
    return replies


def _states(reply):
    return {name: entry["state"] for name, entry in reply["protocols"].items()}


def check(replies):
    passing = {"ipsec": "passing", "pptp": "passing", "l2tp": "passing"}
    before = replies["before_apply"]
    _expect(before["applied"]["at"] is None and before["errors"], "before_apply",
            "nothing applied yet, and an error saying so: {}".format(before))
    _expect(_states(replies["no_tunnels"]) == passing, "no_tunnels", "all passing")
    _expect(replies["no_tunnels"]["tunnels"] == [], "no_tunnels", "no tunnel")
    _expect(_states(replies["all_passing"]) == passing, "all_passing", "all passing")
    rows = replies["all_passing"]["tunnels"]
    _expect([(row["protocol"], row["client"], row["server"]) for row in rows] == [
        ("ipsec", CLIENTS["client1"][4], SERVER[4]), ("l2tp", CLIENTS["client1"][4], SERVER[4]),
        ("pptp", CLIENTS["client2"][4], SERVER_B[4])],
        "all_passing", "three tunnels, one per protocol: {}".format(rows))
    blocked_pptp = replies["pptp_blocked"]["protocols"]["pptp"]
    _expect(blocked_pptp["state"] == "blocked" and
            blocked_pptp["counters"]["blocked"]["packets"] > 0,
            "pptp_blocked", "PPTP blocked and its drops counted: {}".format(blocked_pptp))
    cut = [action for action in replies["pptp_blocked"]["applied"]["actions"]
           if action.endswith(" pptp flow(s)")]
    rows = replies["pptp_blocked"]["tunnels"]
    _expect(cut and cut[0] != "cut 0 pptp flow(s)" and
            "pptp" not in [row["protocol"] for row in rows],
            "pptp_blocked", "the live call cut: {} {}".format(cut, rows))
    _expect(replies["config_error"]["errors"], "config_error", "an error")
    _expect(set(_states(replies["disabled"]).values()) == {"inactive"}, "disabled", "inactive")
    _expect(_states(replies["pptp_degraded"])["pptp"] == "degraded", "pptp_degraded",
            "PPTP degraded")


def write(replies, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for scenario, reply in replies.items():
        with open(os.path.join(out_dir, scenario + ".json"), "w") as f:
            json.dump(reply, f, indent=1, sort_keys=True)
            f.write("\n")


def main(argv):
    out_dir = argv[0] if argv else REPLIES
    write(record_all(), out_dir)
    print("recorded {} scenarios into {}".format(len(SCENARIOS), out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
