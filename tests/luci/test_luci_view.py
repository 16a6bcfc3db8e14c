"""The LuCI view under node on the stand-in of LuCI (luci_standin.js, which does what LuCI does
where it covers something; test_luci_browser.py checks that against LuCI's own files): what the
status panel says in every situation, what a Save sends, and what the page declares."""

import datetime
import difflib
import json
import os
import subprocess

import pytest
import save_cases
import situations
from rpcd_uci import UciStore
from vpnpassthrough import config

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VIEW = os.path.join(REPO, "files", "www", "luci-static", "resources", "view", "vpnpassthrough.js")
NODE = "/usr/bin/node"
PAYLOAD = situations.PAYLOAD
# LuCI's L.raise appends the stack to the message.
NOT_FOUND = "RPC call to vpnpassthrough/status failed with error -32000: Object not found"
STACK = "\n  at ClassConstructor.handleCallReply (http://192.168.1.1/luci-static/resources/rpc.js:82:7)"


def run_node(*args, stdin=None):
    assert os.path.exists(NODE), "node is missing: `make deps` installs it"
    done = subprocess.run([NODE] + list(args), capture_output=True, text=True, input=stdin,
                          env=dict(os.environ, TZ="UTC"), timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def uci_values(tmp_path, text):
    """What `uci get` gives the page for this file."""
    os.makedirs(tmp_path, exist_ok=True)
    with open(os.path.join(tmp_path, "vpnpassthrough"), "w") as f:
        f.write(text)
    return UciStore(str(tmp_path)).get("vpnpassthrough")["values"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("view")
    scenarios = {name: {"reply": situations.recorded(name)} for name in situations.recorded_names()}
    scenarios.update({name: {"reply": reply} for name, reply in situations.synthetic().items()})
    scenarios.update({
        "not_answering": {"error": NOT_FOUND + STACK},
        "answered_nothing": {"reply": 0},
        "hung": {"hang": True},
    })
    scenarios["disabled"]["values"] = uci_values(tmp / "disabled", save_cases.switched(
        save_cases.DEFAULT, "enabled", "1", "0"))
    saves = [{"name": case["name"], "values": uci_values(tmp / case["name"], case["before"]),
              "changes": case["changes"], "status": situations.recorded("all_passing")}
             for case in save_cases.CASES]
    spellings = [s for word in config.TRUE + config.FALSE
                 for s in (word, word.upper(), word.title())] + ["maybe", "", "2"]
    request = {"values": uci_values(tmp / "default", save_cases.DEFAULT), "scenarios": scenarios,
               "saves": saves, "spellings": spellings}
    path = tmp / "input.json"
    path.write_text(json.dumps(request))
    out = run_node(os.path.join(HERE, "view_driver.js"), VIEW, str(path))
    out["request"] = request
    return out


def scenario(page, name):
    found = page["scenarios"][name]
    assert found["rendered"] and found["answered"], name
    return found


def table(found, name):
    """[[cell text, ...], ...] of one panel table, placeholder rows as [text]."""
    return [[cell["text"] for cell in row["cells"]] for row in found["tables"][name]]


def summary(found):
    """{title: value} of the summary's one row."""
    (row,) = found["tables"]["summary"]
    return {cell["title"]: cell["text"] for cell in row["cells"]}


def states(found):
    """{protocol title: (switch, state, label classes)}."""
    return {row["cells"][0]["text"]: (row["cells"][1]["text"], row["cells"][2]["text"],
                                      row["cells"][2]["labels"])
            for row in found["tables"]["protocols"]}


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S")


def traffic(counter):
    size = counter["bytes"]
    assert size < 1024 * 1024
    shown = "{} B".format(size) if size <= 1024 else "{:.1f} KiB".format(size / 1024)
    return "{} ({})".format(counter["packets"], shown)


def committed(tmp_path, case, calls):
    """The file after rpcd applied and committed the uci calls of a Save."""
    store = UciStore(str(tmp_path))
    with open(tmp_path / "vpnpassthrough", "w") as f:
        f.write(case["before"])
    for op, args in calls:
        store.stage(op, args)
    store.commit()
    with open(tmp_path / "vpnpassthrough") as f:
        return f.read()


# -- Issue 14.1-3: Save ------------------------------------------------------------------------

@pytest.mark.parametrize("case", save_cases.CASES, ids=lambda case: case["name"])
def test_save_leaves_exactly_the_expected_file(page, case, tmp_path):
    done = page["saves"][case["name"]]
    assert (done["refused"], done.get("error")) == ([], None)
    assert committed(tmp_path, case, done["calls"]) == case["after"]


def test_save_sends_only_what_the_user_changed_and_never_deletes(page):
    for case in save_cases.CASES:
        calls = page["saves"][case["name"]]["calls"]
        assert [op for op, _args in calls] == ["set"], case["name"]
        assert calls[0][1]["values"] == dict(case["changes"]), case["name"]


def test_one_switch_changed_in_a_canonical_file_is_one_line_changed(page, tmp_path):
    for option in save_cases.SWITCHES:
        case = next(c for c in save_cases.CASES if c["name"] == "one_line_for_" + option)
        after = committed(tmp_path, case, page["saves"][case["name"]]["calls"])
        diff = [line for line in difflib.ndiff(case["before"].splitlines(), after.splitlines())
                if line[:1] in "+-"]
        assert diff == ["- \toption {} '1'".format(option), "+ \toption {} '0'".format(option)]


def test_switches_read_every_boolean_spelling_the_service_accepts(page):
    for spelling, shown in page["switchValues"].items():
        if spelling == "(missing)":
            assert shown == "1"  # the service's default: on
            continue
        meaning = config.parse_bool(spelling)
        assert shown == {True: "1", False: "0", None: spelling}[meaning], spelling


def options(page):
    main = page["form"]["sections"][0]
    assert (page["form"]["config"], main["name"], main["type"]) == (
        "vpnpassthrough", "main", "vpnpassthrough")
    return {o["option"]: o for o in main["options"]}


def test_three_enable_disable_switches_written_only_as_changed_never_removed(page):
    found = options(page)
    for name, title in (("ipsec", "IPsec Passthrough"), ("pptp", "PPTP Passthrough"),
                        ("l2tp", "L2TP Passthrough")):
        switch = found[name]
        assert (switch["tab"], switch["kind"], switch["widget"], switch["title"]) == (
            "general", "CBI.ListValue", "radio", title)
        assert switch["choices"] == [["1", "Enable"], ["0", "Disable"]]
        assert switch["rmempty"] is False  # off is '0': a missing option means on
        assert switch["hooks"] == ["cfgvalue", "parse", "write"]


def test_wan_zone_is_optional_free_text_and_written_only_when_changed(page):
    zone = options(page)["wan_zone"]
    assert (zone["kind"], zone["tab"]) == ("CBI.ZoneSelect", "advanced")
    assert zone["rmempty"] is True and zone["nocreate"] is None
    assert zone["hooks"] == ["parse", "write"]
    assert "not used when WAN devices are given" in zone["description"]


def test_advanced_tab_holds_the_other_options(page):
    found = options(page)
    assert [o for o in found if found[o]["tab"] == "advanced"] == [
        "enabled", "wan_zone", "wan_device", "ipv6", "cut_on_disable"]
    for flag in ("enabled", "ipv6", "cut_on_disable"):
        assert (found[flag]["kind"], found[flag]["rmempty"], found[flag]["hooks"]) == (
            "CBI.FlagValue", False, ["cfgvalue", "parse", "write"])
    assert (found["wan_device"]["kind"], found["wan_device"]["multiple"],
            found["wan_device"]["hooks"]) == ("CBI.DeviceSelect", True, ["parse", "write"])


# -- Issue 14.4: the truth of every state -----------------------------------------------------

def test_before_the_first_apply_the_config_shows_as_enabled_and_not_in_force(page):
    found = scenario(page, "before_apply")
    reply = situations.recorded("before_apply")
    assert summary(found)["VPN passthrough"] == "Enabled"
    assert summary(found)["Last apply"] == "not yet"
    assert "isabled" not in "".join(n["text"] for n in found["notices"])
    assert [n["text"] for n in found["notices"]] == [e["message"] for e in reply["errors"]]
    # each row as status says: nothing drops IPsec or L2TP yet, PPTP lacks its helper
    assert {name: row[1] for name, row in states(found).items()} == {
        "IPsec": "Passing", "PPTP": "Degraded", "L2TP": "Passing"}


def test_disabled_greys_the_switches_and_claims_nothing_about_traffic(page):
    found = scenario(page, "disabled")
    assert found["notices"][0]["class"] == "alert-message notice"
    assert found["notices"][0]["text"].startswith("VPN passthrough is disabled")
    assert summary(found)["VPN passthrough"] == "Disabled"
    assert summary(found)["WAN devices"] == "none"
    assert "all forwarded traffic" not in found["page"]
    assert {row[1] for row in states(found).values()} == {"Inactive"}
    assert found["locked"] == {name: [True, True] for name in ("ipsec", "pptp", "l2tp")}


def test_switches_are_locked_while_the_config_has_it_off(page):
    case = next(c for c in save_cases.CASES if c["name"] == "enabling_unlocks_the_switches")
    assert "option enabled '0'" in case["before"]
    assert page["saves"][case["name"]]["refused"] == []  # unlocked by ticking Enable first
    found = options(page)
    assert all(found[name]["readonly"] is None for name in ("ipsec", "pptp", "l2tp"))


def test_a_bad_config_is_named_and_the_last_good_state_shown(page):
    found = scenario(page, "config_error")
    texts = [n["text"] for n in found["notices"]]
    assert texts == ["The last change could not be applied; the settings before it stay in "
                     "force.", situations.recorded("config_error")["errors"][0]["message"]]
    assert states(found)["PPTP"][:2] == ("Disable", "Blocked")
    at = situations.recorded("config_error")["applied"]["at"]
    assert summary(found)["Last apply"] == "{}, failed".format(utc(at))
    assert summary(found)["VPN passthrough"] == "Enabled"


def test_all_passing_says_so_for_each_protocol_with_its_counters(page):
    found = scenario(page, "all_passing")
    reply = situations.recorded("all_passing")
    assert found["notices"] == [] and found["notifications"] == []
    for row in table(found, "protocols"):
        name = row[0].lower()
        counters = reply["protocols"][name]["counters"]
        assert row[1:4] == ["Enable", "Passing", traffic(counters["passed"])]
        assert row[4] == "0 (0 B)"
    assert summary(found)["PPTP helper"] == "assigned to PPTP control connections"
    assert summary(found)["Helper modules"] == (
        "nf_conntrack_pptp: built into the kernel, nf_nat_pptp: built into the kernel")
    assert summary(found)["WAN devices"] == "wan0"
    assert summary(found)["Last apply"] == "{}, done in {} ms".format(
        utc(reply["applied"]["at"]), reply["applied"]["ms"])


def test_three_tunnels_are_listed_from_the_status_reply(page):
    found = scenario(page, "all_passing")
    rows = situations.recorded("all_passing")["tunnels"]
    assert len(rows) == 3
    titles = {"ipsec": "IPsec", "pptp": "PPTP", "l2tp": "L2TP"}
    assert table(found, "tunnels") == [
        [titles[t["protocol"]], t["client"], t["server"], t["nat"], utc(t["since"]),
         traffic(t), ", ".join(t["flows"])] for t in rows]


def test_no_tunnel_is_said_in_words(page):
    assert table(scenario(page, "no_tunnels"), "tunnels") == [
        ["No VPN tunnel crosses the router right now."]]


def test_pptp_blocked_shows_its_drops_while_the_others_pass(page):
    found = scenario(page, "pptp_blocked")
    reply = situations.recorded("pptp_blocked")
    assert {name: state[:2] for name, state in states(found).items()} == {
        "IPsec": ("Enable", "Passing"), "PPTP": ("Disable", "Blocked"),
        "L2TP": ("Enable", "Passing")}
    pptp = next(row for row in table(found, "protocols") if row[0] == "PPTP")
    assert pptp[4] == traffic(reply["protocols"]["pptp"]["counters"]["blocked"]) != "0 (0 B)"
    assert summary(found)["PPTP helper"] == "not assigned"
    assert "PPTP" not in [row[0] for row in table(found, "tunnels")]


def test_pptp_degraded_gives_its_reason_once_and_the_package_from_status(page):
    found = scenario(page, "pptp_degraded")
    reply = situations.recorded("pptp_degraded")
    message = reply["errors"][0]["message"]
    assert states(found)["PPTP"] == ("Enable", "Degraded " + message, ["label warning"])
    assert summary(found)["Helper modules"] == (
        "nf_conntrack_pptp: missing (install {0}), nf_nat_pptp: missing (install {0})".format(
            reply["pptp"]["package"]))
    assert found["notices"] == []  # the reason is said once, in the PPTP row


# -- Issue 14.5: every cell carries its column title for the phone layout --------------------

def test_every_status_cell_carries_its_column_title(page):
    headings = {"summary": ["VPN passthrough", "WAN devices", "Forwarded IPv6", "PPTP helper",
                            "Helper modules", "Last apply"],
                "protocols": ["Protocol", "Switch", "State", "Passed packets (bytes)",
                              "Blocked packets (bytes)", "Tunnels"],
                "tunnels": ["Protocol", "LAN client", "Server", "NAT address", "Since",
                            "Packets (bytes)", "Flows"]}
    filled = 0
    for name, found in page["scenarios"].items():
        for kind, rows in found.get("tables", {}).items():
            for row in rows:
                if not row["placeholder"]:
                    assert [c["title"] for c in row["cells"]] == headings[kind], (name, kind)
                    filled += 1
    assert filled > 50


# -- Issue 14.6: text from the router goes in as text -----------------------------------------

@pytest.mark.parametrize("name", ["markup_everywhere", "markup_refused"])
def test_text_from_the_router_never_goes_in_as_html(page, name):
    found = scenario(page, name)
    assert not [html for html in found["markup"] if "<img" in html]
    shown = found["page"] + "".join(n["text"] for n in found["notifications"])
    assert shown.count(PAYLOAD) >= (13 if name == "markup_everywhere" else 1)


def test_standin_puts_a_bare_string_in_as_html_like_luci():
    script = """
const standin = require(%r), probes = require(%r);
function describe(n) {
    if (n.isMarkup) return {html: n.text};
    if (n.nodeType == 3) return n.text;
    return [n.tagName, n.attrs].concat(n.childNodes.map(describe));
}
const out = probes({E: standin.E, dom: standin.dom, cbi_update_table: standin.cbi_update_table,
                    format: (f, a) => standin.format.apply(f, a)}, false);
for (const k in out) if (typeof out[k] != 'string') out[k] = describe(out[k]);
console.log(JSON.stringify(out));
""" % (os.path.join(HERE, "luci_standin.js"), os.path.join(HERE, "conformance.js"))
    out = run_node("-e", script)
    assert out["bare_string_is_markup"] == ["P", {}, {"html": "<b>bold</b> & <i>x</i>"}]
    assert out["array_strings_are_text"] == ["P", {}, "<b>bold</b>", "null", "7", ["EM", {}, "e"]]
    assert out["element_where_attributes_go"] == ["P", {}]
    assert out["string_where_attributes_go"] == ["P", {}, {"html": "a <b>b</b>"}]
    assert out["attributes"] == ["P", {"class": "a b", "data-x": '{"k":[1]}', "n": "5"}, "x"]
    row = out["table_rows"][3]  # titles row, then the rows
    assert row[1] == {"class": "tr cbi-rowstyle-1"}
    assert row[2] == ["TD", {"class": "td", "data-title": "Name"}, {"html": "<b>markup</b>"}]
    assert out["table_string_placeholder"][3][2] == [
        "TD", {"class": "td"}, {"html": "placeholder <b>markup</b>"}]
    assert out["format"] == "a<|null|7|0|-3|%|0 B|1023 B|1.5 KiB|3.0 TiB|end"


# -- Issue 14.7: errors, loading, wording, descriptions, IPv6 ---------------------------------

def test_not_answering_is_one_notification_without_a_stack_frame(page):
    found = scenario(page, "not_answering")
    assert len(found["notifications"]) == 1
    note = found["notifications"][0]
    assert note["class"] == "alert-message fade-in danger"
    assert note["text"] == (
        "VPN passthrough is not answering" + NOT_FOUND + ". Check that the vpnpassthrough "
        "package is installed, then restart rpcd: /etc/init.d/rpcd restartDismiss")
    for rows in found["tables"].values():
        assert [[c["text"] for c in row["cells"]] for row in rows] == [
            ["Unknown: see the message at the top of the page."]]


def test_an_empty_or_refused_answer_is_said_too(page):
    assert scenario(page, "answered_nothing")["notifications"][0]["text"] == (
        "No status from VPN passthroughIt answered without a status.Dismiss")
    assert scenario(page, "markup_refused")["notifications"][0]["text"] == (
        "No status from VPN passthroughIt refused the request: bad argument " + PAYLOAD +
        "Dismiss")


def test_a_hung_call_does_not_hold_up_the_form(page):
    found = page["scenarios"]["hung"]
    assert found["rendered"] and not found["answered"]


def test_states_use_theme_labels(page):
    found = states(scenario(page, "pptp_blocked"))
    assert found["IPsec"][2] == ["label notice"] and found["PPTP"][2] == ["label"]
    assert states(scenario(page, "pptp_degraded"))["PPTP"][2] == ["label warning"]


def test_descriptions_come_from_status_and_promise_a_cut_only_when_it_is_on(page):
    reply = situations.recorded("all_passing")
    on = scenario(page, "all_passing")["descriptions"]
    off = scenario(page, "cut_off")["descriptions"]
    for name in ("ipsec", "pptp", "l2tp"):
        covers = "Covers {}.".format(", ".join(reply["protocols"][name]["covers"]))
        assert covers in on[name] and covers in off[name]
        assert on[name].endswith("Disable drops it and ends running tunnels at once.")
        assert off[name].endswith("Disable drops it; running tunnels stop passing traffic and "
                                  "end when they time out.")
    hung = page["scenarios"]["hung"]["descriptions"]
    assert "Covers" not in "".join(hung.values()) and "Disable" not in "".join(hung.values())


def test_ipv6_coverage_is_shown(page):
    assert summary(scenario(page, "all_passing"))["Forwarded IPv6"] == "same switches as IPv4"
    assert summary(scenario(page, "ipv6_off"))["Forwarded IPv6"] == (
        "not covered, left to the firewall")


def test_traffic_is_shown_with_lucis_binary_units(page):
    assert page["traffic"] == ["7 (0 B)", "7 (1023 B)", "7 (1.5 KiB)", "7 (5.5 MiB)",
                               "7 (3.0 TiB)"]


# -- One poll call per cycle ------------------------------------------------------------------

def test_one_status_call_with_the_tunnel_rows_every_five_seconds(page):
    assert [(d["object"], d["method"], d.get("params"), d["reject"]) for d in page["declared"]] == [
        ("vpnpassthrough", "status", ["tunnels"], True)]
    cycle = page["cycle"]
    assert cycle["callsAfterEachSecond"] == [1, 1, 1, 1, 2, 2, 2, 2, 2, 3]
    assert {json.dumps(c, sort_keys=True) for c in cycle["calls"]} == {json.dumps(
        {"object": "vpnpassthrough", "method": "status", "args": {"tunnels": True}},
        sort_keys=True)}
    assert [row["cells"][2]["text"] for row in cycle["before"]] == ["Passing"] * 3
    assert [row["cells"][2]["text"] for row in cycle["after"]] == [
        "Passing", "Blocked", "Passing"]


def test_view_requires_modules_as_luci_maps_them(page):
    assert [(r["name"], r["as"]) for r in page["requires"]] == [
        ("view", "view"), ("form", "form"), ("rpc", "rpc"), ("poll", "poll"), ("dom", "dom"),
        ("ui", "ui"), ("uci", "uci"), ("tools.widgets", "widgets")]


def test_status_panel_follows_the_switches(page):
    text = scenario(page, "all_passing")["page"]
    assert text.index("L2TP Passthrough") < text.index("Status") < text.index("Active tunnels")
