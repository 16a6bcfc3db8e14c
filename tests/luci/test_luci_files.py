"""The page's files fit together: menu → view and ACL, ACL → the agent's methods the view
calls, and the package installs exactly these files from files/."""

import json
import os
import re

from vpnpassthrough import api

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FILES = os.path.join(REPO, "files")
MENU = "usr/share/luci/menu.d/luci-app-vpnpassthrough.json"
ACL = "usr/share/rpcd/acl.d/luci-app-vpnpassthrough.json"
VIEWS = "www/luci-static/resources/view"
MAKEFILE = os.path.join(REPO, "package", "luci-app-vpnpassthrough", "Makefile")


def load(path):
    with open(os.path.join(FILES, path)) as f:
        return json.load(f)


def view_source():
    with open(os.path.join(FILES, VIEWS, "vpnpassthrough.js")) as f:
        return f.read()


def test_menu_entry_under_services_opens_the_view():
    entry = load(MENU)["admin/services/vpnpassthrough"]
    assert entry["action"] == {"type": "view", "path": "vpnpassthrough"}
    assert os.path.exists(os.path.join(FILES, VIEWS, entry["action"]["path"] + ".js"))


def test_menu_depends_on_the_acl_group_and_the_config():
    depends = load(MENU)["admin/services/vpnpassthrough"]["depends"]
    assert depends["acl"] == list(load(ACL))
    assert depends["uci"] == {"vpnpassthrough": True}
    assert os.path.exists(os.path.join(FILES, "etc", "config", "vpnpassthrough"))


def test_acl_lets_the_page_read_what_it_calls_and_write_its_config():
    group = load(ACL)["luci-app-vpnpassthrough"]
    called = re.findall(r"object: 'vpnpassthrough',\s*method: '(\w+)'", view_source())
    assert called == ["status"]
    assert set(called) <= set(group["read"]["ubus"]["vpnpassthrough"])
    assert group["read"]["uci"] == group["write"]["uci"] == ["vpnpassthrough"]


def test_acl_names_only_methods_the_agent_has():
    group = load(ACL)["luci-app-vpnpassthrough"]
    for access in ("read", "write"):
        assert set(group[access]["ubus"]["vpnpassthrough"]) <= set(api.METHODS)


def test_package_installs_the_pages_files_from_files_at_the_same_paths():
    with open(MAKEFILE) as f:
        text = f.read()
    installed = re.findall(r"\$\(INSTALL_DATA\) \$\(PKG_BUILD_DIR\)/files/(\S+) \$\(1\)/(\S+)/",
                           text)
    assert all(os.path.dirname(source) == target for source, target in installed)
    page_files = {ACL}
    for top in (VIEWS, "usr/share/luci"):
        for folder, _dirs, names in os.walk(os.path.join(FILES, top)):
            page_files |= {os.path.relpath(os.path.join(folder, n), FILES) for n in names}
    assert {source for source, _target in installed} == page_files
    assert "DEPENDS:=+luci-base +vpnpassthrough" in text


def test_view_keeps_no_copy_of_the_services_facts():
    """Ports, protocols, module and package names come from `status`, not from the view."""
    facts = [r"\b(udp|tcp)/\d+", r"\b(500|1701|1723|4500)\b", r"\b(esp|ah|gre)\b", r"kmod-",
             r"\bnf_(conntrack|nat)_"]
    source = view_source()
    assert [fact for fact in facts if re.search(fact, source, re.I)] == []
    assert re.search(facts[0], "it covers udp/500")  # the patterns do find such a fact
