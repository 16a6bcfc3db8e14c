"""UCI sections → a validated config dict, or errors that name config, section, option, value."""

from . import uci

CONFIG = "vpnpassthrough"
SECTION = "main"
SECTION_TYPE = "vpnpassthrough"

TRUE = ("1", "yes", "on", "true", "enabled")
FALSE = ("0", "no", "off", "false", "disabled")
IFNAME_CHARS = uci.NAME_CHARS + ".-"
IFNAME_MAX = 15  # IFNAMSIZ - 1
WILDCARDS = "+*"

# option -> (kind, default); the defaults are the classic router's: everything passes.
SCHEMA = {
    "enabled": ("bool", True),
    "ipsec": ("bool", True),
    "pptp": ("bool", True),
    "l2tp": ("bool", True),
    "ipv6": ("bool", True),
    "cut_on_disable": ("bool", True),
    "wan_zone": ("zone", "wan"),
    "wan_device": ("devices", []),
}


class ConfigError(Exception):
    """Raised with every error found, so the user fixes them all in one go."""

    def __init__(self, errors):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def error(option, value, message, section=SECTION):
    where = ".".join(part for part in (CONFIG, section, option) if part)
    return {"config": CONFIG, "section": section, "option": option, "value": value,
            "message": where + ": " + message}


def parse_bool(value):
    """UCI's booleans; None when the value is not one."""
    if isinstance(value, str):
        value = value.lower()
        if value in TRUE:
            return True
        if value in FALSE:
            return False
    return None


def ifname_problem(name):
    """None for a device name, or a wildcard ending in '+' (UCI) or '*' (firewall4)."""
    if not name:
        return "is empty"
    if len(name) > IFNAME_MAX:
        return "is longer than {} characters".format(IFNAME_MAX)
    stem = name[:-1] if name[-1] in WILDCARDS else name
    if not stem or stem in (".", ".."):
        return "is not a device name"
    for char in stem:
        if char not in IFNAME_CHARS:
            return ("contains {!r}; device names use letters, digits, '_', '.', '-' (and a "
                    "final '+' for any suffix)".format(char))
    return None


def _check(option, kind, value, errors):
    if kind == "bool":
        parsed = parse_bool(value)
        if parsed is None:
            shown = value if isinstance(value, str) else " ".join(value)
            errors.append(error(option, shown, "{!r} is not a boolean (use 1/0, yes/no, on/off, "
                                "true/false, enabled/disabled)".format(shown)))
        return parsed
    if kind == "zone":
        if not isinstance(value, str) or not uci.valid_name(value):
            shown = value if isinstance(value, str) else " ".join(value)
            errors.append(error(option, shown, "{!r} is not a firewall zone name (letters, "
                                "digits, '_')".format(shown)))
            return None
        return value
    devices = [value] if isinstance(value, str) else value
    for name in devices:
        problem = ifname_problem(name)
        if problem:
            errors.append(error(option, name, "device {!r} {}".format(name, problem)))
    return devices


def validate(sections):
    """Return the config dict or raise ConfigError listing every problem."""
    if sections is None:
        raise ConfigError([error("", "", "config file not found", section="")])
    errors = []
    main = uci.find(sections, SECTION)
    for section in sections:
        if section is not main:
            label = section["name"] or "@" + section["type"]
            errors.append(error("", section["type"], "unknown section (only 'config {} {!r}' "
                                "is read)".format(SECTION_TYPE, SECTION), section=label))
    if main is None:
        errors.append(error("", "", "section missing: add 'config {} {!r}'".format(
            SECTION_TYPE, SECTION)))
        raise ConfigError(errors)
    if main["type"] != SECTION_TYPE:
        errors.append(error("", main["type"], "section has type {!r}, expected {!r}".format(
            main["type"], SECTION_TYPE)))
    config = {}
    for option, (_kind, default) in SCHEMA.items():
        config[option] = default
    for option, value in main["options"]:
        if option not in SCHEMA:
            shown = value if isinstance(value, str) else " ".join(value)
            errors.append(error(option, shown, "unknown option (known: {})".format(
                ", ".join(sorted(SCHEMA)))))
            continue
        config[option] = _check(option, SCHEMA[option][0], value, errors)
    if errors:
        raise ConfigError(errors)
    config["wan_devices"] = config.pop("wan_device")
    return config


def load(config_dir):
    """Read and validate the committed config; raises ConfigError (parse errors included)."""
    try:
        sections = uci.read(config_dir, CONFIG)
    except uci.UciParseError as e:
        message = "{} (line {}): {}".format(CONFIG, e.line, e.message)
        raise ConfigError([{"config": CONFIG, "section": "", "option": "", "value": "",
                            "message": message}]) from None
    return validate(sections)
