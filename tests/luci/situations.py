"""The `status` replies the page is tested with: the recorded ones (replies/NAME.json, written
by record_replies.py from the real agent) and a few no agent records on purpose, derived from
them: markup in every text the router reports, Cut tunnels on disable off, IPv6 off.
"""

import copy
import glob
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REPLIES = os.path.join(HERE, "replies")

# Counts its own runs: a test reads window.__xss in the browser.
PAYLOAD = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'


def recorded(name):
    with open(os.path.join(REPLIES, name + ".json")) as f:
        return json.load(f)


def recorded_names():
    return sorted(os.path.basename(path)[:-5] for path in glob.glob(REPLIES + "/*.json"))


def markup_everywhere():
    """all_passing with the payload in every text field a config value or a message can reach."""
    reply = recorded("all_passing")
    reply["errors"] = [
        {"config": "vpnpassthrough", "section": "main", "option": "wan_zone", "value": PAYLOAD,
         "message": "vpnpassthrough.main.wan_zone: {!r} is not a firewall zone name".format(
             PAYLOAD)},
        {"protocol": "pptp", "message": "PPTP " + PAYLOAD}]
    reply["warnings"] = [{"message": "warning " + PAYLOAD, "protocol": "ipsec"}]
    reply["wan_devices"] = [PAYLOAD]
    reply["pptp"] = {"helper": PAYLOAD, "package": PAYLOAD,
                     "modules": {PAYLOAD: "missing", "nf_nat_pptp": PAYLOAD}}
    reply["protocols"]["ipsec"]["covers"] = [PAYLOAD]
    reply["protocols"]["pptp"]["state"] = "degraded"
    reply["protocols"]["l2tp"]["state"] = PAYLOAD
    reply["tunnels"][0].update(protocol=PAYLOAD, client=PAYLOAD, server=PAYLOAD, nat=PAYLOAD,
                               flows=[PAYLOAD])
    return reply


def with_changes(name, **changes):
    reply = copy.deepcopy(recorded(name))
    reply.update(changes)
    return reply


def synthetic():
    """{name: status reply} of the situations derived here."""
    return {
        "markup_everywhere": markup_everywhere(),
        "markup_refused": {"error": "bad argument " + PAYLOAD},
        "cut_off": with_changes("all_passing", cut_on_disable=False),
        "ipv6_off": with_changes("all_passing", ipv6=False),
    }
