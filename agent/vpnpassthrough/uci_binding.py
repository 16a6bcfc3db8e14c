"""Adapter for OpenWrt's libuci binding (python3-uci), used to commit `set`; importing it
fails where it is absent, and uci.py then writes the file itself.

libuci commits the deltas in its savedir along with the caller's own change. Its default
savedir is /tmp/.uci, where a shell user's uncommitted `uci set` waits: `set` gives it an
empty folder of its own instead, so exactly its change is committed. libuci takes its lock on
the config file and rewrites it whole, as `uci commit` does.
"""

import uci as pyuci  # ImportError here makes uci.py write the file itself


def set_options(config_dir, config, section_name, section_type, values, savedir):
    ctx = pyuci.Uci(savedir=savedir, confdir=config_dir)
    try:
        ctx.get(config, section_name)
    except pyuci.UciExceptionNotFound:
        ctx.set(config, section_name, section_type)
    for name in sorted(values):
        ctx.set(config, section_name, name, values[name])
    ctx.commit(config)
