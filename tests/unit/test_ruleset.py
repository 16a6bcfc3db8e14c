"""Ruleset golden files: committed config in golden/NAME.uci → exactly golden/NAME.nft.

A `# helper: missing` line in the .uci says the PPTP helper modules are absent. Plain
functions (no pytest), so the same check runs under MicroPython.
"""

import os

from vpnpassthrough import config, ruleset, uci, wan

GOLDEN = (__file__.rpartition("/")[0] or ".") + "/golden"


def cases():
    for name in sorted(os.listdir(GOLDEN)):
        if name.endswith(".uci"):
            yield name[:-4]


def read(name):
    with open(GOLDEN + "/" + name) as f:
        return f.read()


def render(case):
    text = read(case + ".uci")
    cfg = config.validate(uci.parse(text))
    return ruleset.render(cfg, wan.configured(cfg["wan_devices"]),
                          helper="# helper: missing" not in text)


def test_every_golden_case_renders_exactly():
    seen = 0
    for case in cases():
        got = render(case)
        assert got == read(case + ".nft"), case + ":\n" + got
        seen += 1
    assert seen >= 7, seen


def test_table_is_replaced_in_one_file_and_chain_runs_before_firewall4():
    text = render("defaults")
    assert text.startswith("table inet vpnpassthrough\ndelete table inet vpnpassthrough\n")
    assert "type filter hook forward priority filter - 5; policy accept;" in text


def test_disabled_agent_only_removes_its_table():
    assert render("disabled") == "table inet vpnpassthrough\ndelete table inet vpnpassthrough\n"


def test_a_replacement_carries_counters_and_remembered_servers_over():
    text = render("wan_devices")
    loaded = ruleset.with_kernel_state(
        text, {"pptp_blocked": {"packets": 7, "bytes": 428}},
        {"forwarded4": [("10.99.1.12", "198.51.100.2"), ("bad;", "x")], "forwarded6": []})
    assert "\tcounter pptp_blocked {\n\t\tpackets 7 bytes 428\n\t}" in loaded
    assert "\t\tsize 1024\n\t\telements = { 10.99.1.12 . 198.51.100.2 }\n\t}" in loaded
    assert loaded.count("elements = {") == 2  # the WAN devices' and the one carried over
