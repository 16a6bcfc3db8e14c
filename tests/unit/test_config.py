"""Validation: what each committed file means, and the exact error a bad one gets.

Plain functions and tables (no pytest import), so the same file also runs under MicroPython.
"""

from vpnpassthrough import config, uci

HEAD = "config vpnpassthrough 'main'\n"
DEFAULTS = {"enabled": True, "ipsec": True, "pptp": True, "l2tp": True, "ipv6": True,
            "cut_on_disable": True, "wan_zone": "wan", "wan_devices": []}
BOOL_HELP = " is not a boolean (use 1/0, yes/no, on/off, true/false, enabled/disabled)"


def changed(**values):
    result = dict(DEFAULTS)
    result.update(values)
    return result


VALID = (
    ("empty section: classic router defaults", HEAD, DEFAULTS),
    ("switch off", HEAD + "\toption pptp '0'\n", changed(pptp=False)),
    ("every UCI boolean spelling",
     HEAD + "\toption ipsec 'no'\n\toption pptp off\n\toption l2tp 'false'\n"
     "\toption ipv6 'disabled'\n\toption cut_on_disable 'OFF'\n\toption enabled 'yes'\n",
     changed(ipsec=False, pptp=False, l2tp=False, ipv6=False, cut_on_disable=False)),
    ("true spellings",
     HEAD + "\toption pptp 'on'\n\toption l2tp 'true'\n\toption ipsec 'enabled'\n", DEFAULTS),
    ("agent off", HEAD + "\toption enabled '0'\n", changed(enabled=False)),
    ("wan devices as a list", HEAD + "\tlist wan_device 'eth1'\n\tlist wan_device 'pppoe-wan'\n",
     changed(wan_devices=["eth1", "pppoe-wan"])),
    ("one wan device written as an option", HEAD + "\toption wan_device 'eth0.2'\n",
     changed(wan_devices=["eth0.2"])),
    ("another zone", HEAD + "\toption wan_zone 'wan_b'\n", changed(wan_zone="wan_b")),
    ("15-character device", HEAD + "\tlist wan_device 'abcdefghijklmno'\n",
     changed(wan_devices=["abcdefghijklmno"])),
    ("any device starting tun", HEAD + "\tlist wan_device 'tun+'\n", changed(wan_devices=["tun+"])),
)


def err(option, value, message, section="main"):
    where = ".".join(part for part in ("vpnpassthrough", section, option) if part)
    return {"config": "vpnpassthrough", "section": section, "option": option, "value": value,
            "message": where + ": " + message}


DEVICE_HELP = ("; device names use letters, digits, '_', '.', '-' (and a final '+' for any "
               "suffix)")
INVALID = (
    ("bad boolean", HEAD + "\toption pptp 'maybe'\n",
     [err("pptp", "maybe", "'maybe'" + BOOL_HELP)]),
    ("empty boolean", HEAD + "\toption ipsec ''\n", [err("ipsec", "", "''" + BOOL_HELP)]),
    ("boolean given as a list", HEAD + "\tlist l2tp '1'\n", [err("l2tp", "1", "'1'" + BOOL_HELP)]),
    ("unknown option", HEAD + "\toption pptp_helper '1'\n",
     [err("pptp_helper", "1", "unknown option (known: cut_on_disable, enabled, ipsec, ipv6, "
                              "l2tp, pptp, wan_device, wan_zone)")]),
    ("device with a space", HEAD + "\tlist wan_device 'eth 1'\n",
     [err("wan_device", "eth 1", "device 'eth 1' contains ' '" + DEVICE_HELP)]),
    ("device that would be nft syntax", HEAD + "\tlist wan_device 'e\"};drop'\n",
     [err("wan_device", 'e"};drop', "device 'e\"};drop' contains '\"'" + DEVICE_HELP)]),
    ("wildcard that is not at the end", HEAD + "\tlist wan_device 'tun+0'\n",
     [err("wan_device", "tun+0", "device 'tun+0' contains '+'" + DEVICE_HELP)]),
    ("a wildcard alone", HEAD + "\tlist wan_device '+'\n",
     [err("wan_device", "+", "device '+' is not a device name")]),
    ("device too long", HEAD + "\tlist wan_device 'abcdefghijklmnop'\n",
     [err("wan_device", "abcdefghijklmnop", "device 'abcdefghijklmnop' is longer than 15 "
                                            "characters")]),
    ("device named ..", HEAD + "\tlist wan_device '..'\n",
     [err("wan_device", "..", "device '..' is not a device name")]),
    ("zone with a slash", HEAD + "\toption wan_zone 'w/an'\n",
     [err("wan_zone", "w/an", "'w/an' is not a firewall zone name (letters, digits, '_')")]),
    ("every error at once", HEAD + "\toption ipsec '2'\n\toption l2tp 'x'\n",
     [err("ipsec", "2", "'2'" + BOOL_HELP), err("l2tp", "x", "'x'" + BOOL_HELP)]),
    ("missing section", "config vpnpassthrough 'other'\n",
     [err("", "vpnpassthrough", "unknown section (only 'config vpnpassthrough 'main'' is "
                                "read)", section="other"),
      err("", "", "section missing: add 'config vpnpassthrough 'main''")]),
    ("wrong section type", "config passthrough 'main'\n",
     [err("", "passthrough", "section has type 'passthrough', expected 'vpnpassthrough'")]),
    ("anonymous extra section", HEAD + "config rule\n\toption x '1'\n",
     [err("", "rule", "unknown section (only 'config vpnpassthrough 'main'' is read)",
          section="@rule")]),
)


def test_valid_configs_mean_what_they_say():
    for label, text, expected in VALID:
        got = config.validate(uci.parse(text))
        assert got == expected, (label, got)


def test_invalid_configs_get_exact_errors_naming_section_option_value():
    for label, text, expected in INVALID:
        try:
            config.validate(uci.parse(text))
        except config.ConfigError as e:
            assert e.errors == expected, (label, e.errors)
        else:
            raise AssertionError(label + ": accepted")


def test_missing_file_is_an_error():
    try:
        config.validate(None)
    except config.ConfigError as e:
        assert e.errors[0]["message"] == "vpnpassthrough: config file not found"
    else:
        raise AssertionError("accepted a missing file")


def test_parse_error_names_the_line():
    try:
        config.validate(uci.parse(HEAD + "\toption pptp 'unterminated\n", "vpnpassthrough"))
    except uci.UciParseError as e:
        assert (e.line, e.message) == (2, "unterminated '"), (e.line, e.message)
    else:
        raise AssertionError("parsed")
