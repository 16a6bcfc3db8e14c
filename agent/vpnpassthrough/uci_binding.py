"""Adapter for OpenWrt's libuci binding (python3-uci); importing it fails where it is absent.

pyuci's get(config) gives {section: {option: str or tuple}} and get(config, section) the
section's type. A new Uci() per call, because one object does not see later commits by others.
"""

import uci as pyuci  # ImportError here makes uci.py use its own parser


def read(config_dir, config):
    ctx = pyuci.Uci(confdir=config_dir)
    try:
        package = ctx.get(config)
    except pyuci.UciExceptionNotFound:
        return None
    sections = []
    for name, options in package.items():
        sections.append({
            "type": ctx.get(config, name), "name": name,
            "options": [[key, list(value) if isinstance(value, tuple) else value]
                        for key, value in options.items()]})
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
