"""The LuCI view, evaluated under node as luci.js evaluates it (tests/luci/luci_standin.js),
fed with the agent's recorded replies: what the status panel says in each situation, and what
the page declares (switches that write '0' when off, rpc calls, a 5 s poll)."""

import datetime
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VIEW = os.path.join(REPO, "files", "www", "luci-static", "resources", "view", "vpnpassthrough.js")
REPLIES = os.path.join(HERE, "replies")
NODE = "/usr/bin/node"
MISSING = "missing (install kmod-nf-nathelper-extra)"


def recorded(scenario):
    with open(os.path.join(REPLIES, scenario + ".json")) as f:
        return json.load(f)


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S")


def traffic(counter):
    """What the page shows for packets and bytes (all recorded counts are under 1 MiB; a PPTP
    call's handshake alone is over 1 KiB)."""
    size = counter["bytes"]
    assert size < 1024 * 1024
    shown = "{} B".format(size) if size < 1024 else "{:.1f} KiB".format(size / 1024)
    return "{} ({})".format(counter["packets"], shown)


@pytest.fixture(scope="module")
def page():
    assert os.path.exists(NODE), "node is missing: `make deps` installs it"
    done = subprocess.run([NODE, os.path.join(HERE, "view_driver.js"), VIEW, REPLIES],
                          capture_output=True, text=True, env=dict(os.environ, TZ="UTC"),
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def states(model):
    return {row["name"]: (row["state"], row["cells"][1]) for row in model["protocols"]}


def summary(model):
    return dict(model["summary"])


def test_all_passing_says_so_for_each_protocol_with_its_counters(page):
    model = page["models"]["all_passing"]
    status = recorded("all_passing")["status"]
    assert model["notice"] is None
    assert states(model) == {name: ("passing", "Passing") for name in ("ipsec", "pptp", "l2tp")}
    for row in model["protocols"]:
        counters = status["protocols"][row["name"]]["counters"]
        assert row["cells"][2] == traffic(counters["passed"]) != "0 (0 B)"
        assert row["cells"][3] == "0 (0 B)"
    assert summary(model)["PPTP helper"] == "assigned to PPTP control connections"
    assert summary(model)["Helper modules"] == (
        "nf_conntrack_pptp: built into the kernel, nf_nat_pptp: built into the kernel")
    assert summary(model)["WAN devices"] == "wan0"
    assert model["problems"] == []


def test_three_tunnels_are_listed_with_client_server_nat_since_and_traffic(page):
    model = page["models"]["all_passing"]
    rows = recorded("all_passing")["tunnels"]["tunnels"]
    assert len(rows) == 3
    titles = {"ipsec": "IPsec", "pptp": "PPTP", "l2tp": "L2TP"}
    assert model["tunnels"] == [
        [titles[t["protocol"]], t["client"], t["server"], "198.51.100.1", utc(t["since"]),
         traffic(t), ", ".join(t["flows"])] for t in rows]
    assert {row[0] for row in model["tunnels"]} == {"IPsec", "PPTP", "L2TP"}
    assert model["tunnelsText"] is None
    assert "10.99.1.12198.51.100.3198.51.100.1" in page["panels"]["all_passing"]


def test_no_tunnel_is_said_in_words(page):
    model = page["models"]["no_tunnels"]
    assert model["tunnels"] == []
    assert model["tunnelsText"] == "No VPN tunnel crosses the router right now."
    assert page["panels"]["no_tunnels"].endswith(
        "Active tunnelsNo VPN tunnel crosses the router right now.")


def test_pptp_blocked_shows_its_drops_while_the_others_pass(page):
    model = page["models"]["pptp_blocked"]
    status = recorded("pptp_blocked")["status"]
    assert states(model) == {"ipsec": ("passing", "Passing"),
                             "pptp": ("blocked", "Blocked (switched off)"),
                             "l2tp": ("passing", "Passing")}
    pptp = next(row for row in model["protocols"] if row["name"] == "pptp")
    assert pptp["cells"][3] == traffic(status["protocols"]["pptp"]["counters"]["blocked"])
    assert pptp["cells"][3] != "0 (0 B)"
    assert summary(model)["PPTP helper"] == "not assigned"
    assert "PPTP" not in [row[0] for row in model["tunnels"]]


def test_pptp_degraded_gives_the_missing_modules_as_its_reason(page):
    model = page["models"]["pptp_degraded"]
    state, text = states(model)["pptp"]
    assert state == "degraded"
    assert text.startswith("Degraded: PPTP helper module nf_conntrack_pptp, nf_nat_pptp missing")
    assert "kmod-nf-nathelper-extra" in text
    assert summary(model)["Helper modules"] == (
        "nf_conntrack_pptp: {0}, nf_nat_pptp: {0}".format(MISSING))
    assert states(model)["ipsec"] == ("passing", "Passing")
    assert model["problems"] == []  # the reason is said once, in the PPTP row


def test_agent_not_answering_is_one_clear_message_not_a_blank_panel(page):
    model = page["models"]["agent_not_answering"]
    assert model["notice"]["level"] == "error"
    assert model["notice"]["text"].startswith(
        "The VPN passthrough agent is not answering (RPC call to vpnpassthrough/status failed "
        "with ubus code 4: Resource not found).")
    assert "/etc/init.d/rpcd restart" in model["notice"]["text"]
    assert model["protocols"] == [] and model["summary"] == [] and model["tunnels"] == []
    assert page["panels"]["agent_not_answering"] == model["notice"]["text"]


def test_an_agent_answering_nothing_is_said_too(page):
    assert page["models"]["agent_silent"]["notice"] == {
        "level": "error", "text": "The VPN passthrough agent answered without a status."}


def test_a_failing_tunnels_call_leaves_the_rest_of_the_panel_and_says_why(page):
    model = page["models"]["tunnels_failing"]
    assert model["notice"] is None
    assert states(model)["pptp"] == ("passing", "Passing")
    assert model["tunnels"] == []
    assert model["tunnelsText"] == ("Active tunnels are unknown: RPC call to vpnpassthrough/"
                                    "tunnels failed with ubus code 4: Resource not found")


def test_byte_counts_are_shown_in_binary_units(page):
    assert page["bytes"] == ["0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.5 MiB", "3.0 TiB"]


def test_a_bad_config_is_named_and_the_last_good_state_shown(page):
    model = page["models"]["config_error"]
    assert model["notice"]["level"] == "warning"
    assert "stay in force" in model["notice"]["text"]
    assert model["problems"] == [{"level": "error", "text": (
        "vpnpassthrough.main.pptp: 'maybe' is not a boolean "
        "(use 1/0, yes/no, on/off, true/false, enabled/disabled)")}]
    assert states(model)["pptp"] == ("blocked", "Blocked (switched off)")
    assert summary(model)["Last apply"].endswith(": failed, the settings before it stay in force")


def test_disabled_agent_makes_every_protocol_inactive(page):
    model = page["models"]["disabled"]
    assert model["notice"]["level"] == "notice"
    assert {text for _state, text in states(model).values()} == {
        "Inactive (VPN passthrough is disabled)"}
    assert summary(model)["VPN passthrough"] == "Disabled"


def test_view_requires_modules_as_luci_maps_them(page):
    assert [(r["name"], r["as"]) for r in page["requires"]] == [
        ("view", "view"), ("form", "form"), ("rpc", "rpc"), ("poll", "poll"), ("dom", "dom"),
        ("tools.widgets", "widgets")]


def test_status_and_tunnels_come_from_the_agents_ubus_object_and_reject_on_errors(page):
    assert [(d["object"], d["method"], d["reject"]) for d in page["declared"]] == [
        ("vpnpassthrough", "status", True), ("vpnpassthrough", "tunnels", True)]


def test_panel_is_polled_every_five_seconds_and_shows_the_new_state(page):
    assert page["polls"] == [5]
    assert "Blocked (switched off)" not in page["pageBefore"]
    assert "PPTPBlocked (switched off)" in page["pageAfterPoll"]


def options(page):
    main = page["form"]["sections"][0]
    assert (page["form"]["config"], main["name"], main["type"]) == (
        "vpnpassthrough", "main", "vpnpassthrough")
    return {o["option"]: o for o in main["options"]}


def test_three_switches_enable_or_disable_and_write_0_when_off(page):
    found = options(page)
    for name, title in (("ipsec", "IPsec Passthrough"), ("pptp", "PPTP Passthrough"),
                        ("l2tp", "L2TP Passthrough")):
        switch = found[name]
        assert (switch["tab"], switch["kind"], switch["widget"], switch["title"]) == (
            "general", "ListValue", "radio", title)
        assert switch["choices"] == [["1", "Enable"], ["0", "Disable"]]
        # Missing means on to the agent: the option must be written, never removed.
        assert (switch["default"], switch["rmempty"]) == ("1", False)
        assert "Disable: " in switch["description"] and "\n" not in switch["description"]


def test_advanced_tab_holds_the_agents_other_options(page):
    found = options(page)
    assert [o for o in found if found[o]["tab"] == "advanced"] == [
        "enabled", "wan_zone", "wan_device", "ipv6", "cut_on_disable"]
    for flag in ("enabled", "ipv6", "cut_on_disable"):
        assert (found[flag]["kind"], found[flag]["default"], found[flag]["rmempty"]) == (
            "Flag", "1", False)
    assert (found["wan_zone"]["kind"], found["wan_zone"]["default"]) == ("ZoneSelect", "wan")
    assert (found["wan_device"]["kind"], found["wan_device"]["multiple"]) == (
        "DeviceSelect", True)


def test_status_section_follows_the_switches(page):
    sections = page["form"]["sections"]
    assert [s["title"] for s in sections] == [None, "Status"]
    assert page["pageBefore"].index("L2TP Passthrough") < page["pageBefore"].index(
        "StatusVPN passthroughEnabled")
