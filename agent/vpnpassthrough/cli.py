"""The command line: vpnpassthrough [--config-dir DIR] [--state-dir DIR] COMMAND [name=value ...]

`vpnpassthrough --version` prints the bare package version (OpenWrt's package CI runs every
installed executable that way and looks for PKG_VERSION).

Commands: apply (same as reload), ruleset, daemon, and every ubus method (status, tunnels,
check, reload, set). Method replies are printed as JSON; the exit status is 1 when the reply
carries an error or ok=false, whose messages also go to stderr.
"""

import sys

from . import VERSION, api, config

USAGE = "vpnpassthrough [--config-dir DIR] [--state-dir DIR] COMMAND [name=value ...]"


def _parse(argv):
    dirs = {"config_dir": None, "state_dir": None}
    rest = []
    i = 0
    while i < len(argv):
        word = argv[i]
        key = word[2:].replace("-", "_") if word.startswith("--") else None
        if key and "=" in key:
            key, _, value = key.partition("=")
            dirs[key] = value if key in dirs else None
            if key not in dirs:
                raise ValueError("unknown option " + word)
        elif key in dirs:
            if i + 1 >= len(argv):
                raise ValueError(word + " needs a value")
            dirs[key] = argv[i + 1]
            i += 1
        elif key is not None:
            raise ValueError("unknown option " + word)
        else:
            rest.append(word)
        i += 1
    if not rest:
        raise ValueError("no command given")
    return dirs, rest[0], rest[1:]


def _method_args(words):
    """name=value words → a JSON object; booleans written the UCI way."""
    args = {}
    for word in words:
        name, eq, value = word.partition("=")
        if not eq:
            raise ValueError("expected name=value, got " + repr(word))
        parsed = config.parse_bool(value)
        args[name] = value if parsed is None else parsed
    return args


def _ruleset(ctx):
    from . import engine, kmod, wan

    try:
        cfg = config.load(ctx["config_dir"])
    except config.ConfigError as e:
        return _fail(e.errors)
    devices, _note = wan.resolve(cfg) if cfg["enabled"] else ([], None)
    _helper, text = engine.desired(cfg, kmod.observe(ctx["sysroot"]), devices)
    sys.stdout.write(text)
    return 0


def _fail(errors):
    for error in errors:
        sys.stderr.write("vpnpassthrough: " + error["message"] + "\n")
    return 1


def main(argv=None):
    """Exit 0, 1 (the reply reports a failure) or 2 (usage); one line per error, never a
    traceback."""
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    except Exception as e:  # a state dir that vanished, a full disk: say what, not where
        sys.stderr.write("vpnpassthrough: {}\n".format(e))
        return 1


def _main(argv):
    if argv == ["--version"]:
        print(VERSION)
        return 0
    try:
        dirs, command, words = _parse(argv)
        if command == "apply":
            command = "reload"
        if command in ("ruleset", "daemon") and words:
            raise ValueError(command + " takes no arguments")
        args = _method_args(words)
    except ValueError as e:
        sys.stderr.write("vpnpassthrough: {}\nusage: {}\n".format(e, USAGE))
        return 2
    ctx = api.context(dirs["config_dir"], dirs["state_dir"])
    if command == "ruleset":
        return _ruleset(ctx)
    if command == "daemon":
        from . import daemon

        return daemon.run(ctx)
    if command not in api.METHODS:
        sys.stderr.write("vpnpassthrough: unknown command {!r}\nusage: {}\n".format(
            command, USAGE))
        return 2
    reply = api.call(command, args, ctx)
    api.print_reply(reply)
    if "error" in reply:
        return _fail([{"message": reply["error"]}])
    if reply.get("ok") is False:
        return _fail(reply.get("errors", []))
    return 0
