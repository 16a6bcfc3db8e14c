"""Adapter for OpenWrt's libuci binding (python3-uci); importing it fails where it is absent.

A new Uci() per read, because one object does not see later commits by other processes.
"""

import uci as pyuci  # noqa: F401  (ImportError here selects the file parser)


def read(config_dir, config):
    ctx = pyuci.Uci(confdir=config_dir)
    try:
        names = ctx.get(config)
    except pyuci.UciExceptionNotFound:
        return None
    sections = []
    for name in names:
        options = []
        for key, value in ctx.get_all(config, name).items():
            if key.startswith("."):
                continue
            options.append([key, list(value) if isinstance(value, tuple) else value])
        anonymous = ctx.get_all(config, name).get(".anonymous") in (True, "1", "true")
        sections.append({"type": ctx.get(config, name), "name": None if anonymous else name,
                         "options": options})
    return sections


def set_options(config_dir, config, section_name, section_type, values):
    ctx = pyuci.Uci(confdir=config_dir)
    try:
        ctx.get(config, section_name)
    except pyuci.UciExceptionNotFound:
        ctx.set(config, section_name, section_type)
    for name in sorted(values):
        ctx.set(config, section_name, name, values[name])
    ctx.commit(config)
