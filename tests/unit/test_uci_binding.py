"""The pyuci adapter commits `set` through libuci with a savedir of its own; reading is always
the file parser's, binding or not.

pyuci needs OpenWrt's libuci C library, which no registry has, so this stand-in follows the
real binding's API (CZ-NIC pyuci: get/set/commit, UciExceptionNotFound, savedir and confdir)
over an in-memory package instead of libuci; tests/openwrt runs the real one.
"""

import sys
import types

import pytest
import vpnpassthrough
from vpnpassthrough import config, uci

COMMITTED = {}


class UciExceptionNotFound(Exception):
    pass


SAVEDIRS = []


class Uci:
    def __init__(self, savedir=None, confdir=None):
        self.confdir = confdir
        SAVEDIRS.append(savedir)
        self.pending = {c: {s: dict(o) for s, o in p.items()} for c, p in COMMITTED.items()}

    def get(self, config, section=None, option=None):
        package = self.pending.get(config)
        if package is None or (section is not None and section not in package):
            raise UciExceptionNotFound()
        if section is None:
            return {s: {k: v for k, v in o.items() if k != ".type"} for s, o in package.items()}
        if option is None:
            return package[section][".type"]
        return package[section][option]

    def set(self, config, section, *rest):
        package = self.pending.setdefault(config, {})
        if len(rest) == 1:
            package[section] = {".type": rest[0]}
        else:
            package[section][rest[0]] = rest[1]

    def commit(self, config):
        COMMITTED[config] = self.pending[config]


@pytest.fixture
def pyuci(monkeypatch):
    module = types.ModuleType("uci")
    module.Uci, module.UciExceptionNotFound = Uci, UciExceptionNotFound
    module.UciException = Exception
    monkeypatch.setitem(sys.modules, "uci", module)
    monkeypatch.delitem(sys.modules, "vpnpassthrough.uci_binding", raising=False)
    COMMITTED.clear()
    COMMITTED["vpnpassthrough"] = {"main": {".type": "vpnpassthrough", "pptp": "0",
                                            "wan_device": ("eth1", "wan2")}}
    yield
    # Forget the adapter bound to the stand-in, so later reads use the file parser again.
    sys.modules.pop("vpnpassthrough.uci_binding", None)
    vars(vpnpassthrough).pop("uci_binding", None)


def test_reading_is_the_file_parsers_even_with_the_binding(pyuci, tmp_path):
    (tmp_path / "vpnpassthrough").write_text("config vpnpassthrough 'main'\n\toption l2tp '0'\n")
    assert config.load(str(tmp_path))["l2tp"] is False  # not the binding's pptp '0'
    assert config.load(str(tmp_path))["pptp"] is True


def test_binding_sets_and_commits_with_its_own_savedir(pyuci):
    SAVEDIRS.clear()
    uci.set_options("/etc/config", "vpnpassthrough", "main", "vpnpassthrough", {"pptp": "1"},
                    "/var/run/vpnpassthrough/uci")
    assert COMMITTED["vpnpassthrough"]["main"]["pptp"] == "1"
    assert SAVEDIRS == ["/var/run/vpnpassthrough/uci"]
    del COMMITTED["vpnpassthrough"]
    uci.set_options("/etc/config", "vpnpassthrough", "main", "vpnpassthrough", {"l2tp": "0"},
                    "/var/run/vpnpassthrough/uci")
    assert COMMITTED["vpnpassthrough"] == {"main": {".type": "vpnpassthrough", "l2tp": "0"}}


def test_without_the_binding_the_file_parser_reads(tmp_path):
    (tmp_path / "vpnpassthrough").write_text("config vpnpassthrough 'main'\n\toption l2tp '0'\n")
    assert config.load(str(tmp_path))["l2tp"] is False
