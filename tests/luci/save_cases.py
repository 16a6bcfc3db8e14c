"""What a Save & Apply on the page must leave in /etc/config/vpnpassthrough, byte for byte.

Each case: the committed file before, what the router lets the page list of firewall zones
(FIREWALL_* or the zone names of a firewall config), what the user changes on the page
(option, value: '1'/'0' for the switches), and the committed file after. Run by the node tests
on the LuCI stand-in (test_luci_view.py) and in Chromium on LuCI's own files
(test_luci_browser.py), which must both give `after`.
"""

FIREWALL_DENIED = "denied"  # the user's ACL grants no `uci firewall` read
FIREWALL_ABSENT = "absent"  # a dumb AP: no firewall package, no /etc/config/firewall
SWITCHES = ("enabled", "ipsec", "pptp", "l2tp", "ipv6", "cut_on_disable")

# The package's file as libuci writes it (its canonical form).
DEFAULT = """
config vpnpassthrough 'main'
\toption enabled '1'
\toption ipsec '1'
\toption pptp '1'
\toption l2tp '1'
\toption wan_zone 'wan'
\toption ipv6 '1'
\toption cut_on_disable '1'

"""


def switched(text, option, old, new):
    """text with one option line's value replaced (the line must be there)."""
    before = "\toption {} '{}'\n".format(option, old)
    assert text.count(before) == 1, (option, old)
    return text.replace(before, "\toption {} '{}'\n".format(option, new))


CASES = [
    {
        # Issue 14.1: no zone can be listed; the zone, named as no zone the page knows, stays.
        "name": "no_zone_can_be_listed",
        "before": DEFAULT.replace("'wan'", "'wan1'"),
        "firewall": FIREWALL_DENIED,
        "changes": [("pptp", "0")],
        "after": switched(DEFAULT.replace("'wan'", "'wan1'"), "pptp", "1", "0"),
    },
    {
        # Issue 14.1: WAN devices given, no zone, no firewall config at all.
        "name": "wan_devices_and_no_firewall",
        "before": "\nconfig vpnpassthrough 'main'\n\toption ipsec '1'\n"
                  "\tlist wan_device 'eth1'\n\tlist wan_device 'pppoe-wan'\n\n",
        "firewall": FIREWALL_ABSENT,
        "changes": [("ipsec", "0")],
        "after": "\nconfig vpnpassthrough 'main'\n\toption ipsec '0'\n"
                 "\tlist wan_device 'eth1'\n\tlist wan_device 'pppoe-wan'\n\n",
    },
    {
        # Issue 14.2: the firewall's WAN zone is wan1, the file names wan: untouched, kept.
        "name": "zone_not_listed_is_kept",
        "before": DEFAULT,
        "firewall": ["lan", "wan1"],
        "changes": [("pptp", "0")],
        "after": switched(DEFAULT, "pptp", "1", "0"),
    },
    {
        # Issue 14.2: no wan_zone option at all: none is added.
        "name": "missing_zone_stays_missing",
        "before": DEFAULT.replace("\toption wan_zone 'wan'\n", ""),
        "firewall": ["lan", "wan1"],
        "changes": [("l2tp", "0")],
        "after": switched(DEFAULT.replace("\toption wan_zone 'wan'\n", ""), "l2tp", "1", "0"),
    },
    {
        # Issue 14.3: every spelling the service reads shows as it means, and only the
        # switch the user changed is written.
        "name": "spellings_are_read_and_kept",
        "before": "\nconfig vpnpassthrough 'main'\n\toption enabled 'on'\n\toption ipsec 'yes'\n"
                  "\toption pptp 'True'\n\toption l2tp 'enabled'\n\toption ipv6 'ON'\n"
                  "\toption cut_on_disable 'off'\n\n",
        "firewall": ["lan", "wan"],
        "changes": [("l2tp", "0")],
        "after": "\nconfig vpnpassthrough 'main'\n\toption enabled 'on'\n\toption ipsec 'yes'\n"
                 "\toption pptp 'True'\n\toption l2tp '0'\n\toption ipv6 'ON'\n"
                 "\toption cut_on_disable 'off'\n\n",
    },
    {
        # Issue 14.3: a value the service refuses is left for the user to fix, not replaced,
        # and an empty one does not stop the Save.
        "name": "bad_values_are_left_alone",
        "before": "\nconfig vpnpassthrough 'main'\n\toption enabled 'maybe'\n\toption ipsec ''\n"
                  "\toption pptp 'perhaps'\n\toption l2tp '1'\n\n",
        "firewall": ["lan", "wan"],
        "changes": [("l2tp", "0")],
        "after": "\nconfig vpnpassthrough 'main'\n\toption enabled 'maybe'\n\toption ipsec ''\n"
                 "\toption pptp 'perhaps'\n\toption l2tp '0'\n\n",
    },
    {
        # Issue 14.3: off is '0', never a deletion; a missing option is added at the end.
        "name": "off_is_written_as_0",
        "before": "\nconfig vpnpassthrough 'main'\n\toption enabled 'yes'\n\n",
        "firewall": ["lan", "wan"],
        "changes": [("pptp", "0"), ("cut_on_disable", "0")],
        "after": "\nconfig vpnpassthrough 'main'\n\toption enabled 'yes'\n"
                 "\toption pptp '0'\n\toption cut_on_disable '0'\n\n",
    },
    {
        # Issue 14.4: with VPN passthrough off the switches are locked until it is enabled.
        "name": "enabling_unlocks_the_switches",
        "before": switched(DEFAULT, "enabled", "1", "0"),
        "firewall": ["lan", "wan"],
        "changes": [("enabled", "1"), ("pptp", "0")],
        "after": switched(DEFAULT, "pptp", "1", "0"),
    },
] + [
    {
        # A file in libuci's form: one switch changed, one line changed.
        "name": "one_line_for_" + option,
        "before": DEFAULT,
        "firewall": ["lan", "wan"],
        "changes": [(option, "0")],
        "after": switched(DEFAULT, option, "1", "0"),
    }
    for option in SWITCHES
]


def firewall_config(zones):
    """/etc/config/firewall with these zones, as fw4's default config has them."""
    return "".join("\nconfig zone\n\toption name '{0}'\n\tlist network '{0}'\n".format(zone)
                   for zone in zones)
