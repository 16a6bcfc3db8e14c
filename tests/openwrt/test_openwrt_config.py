"""A config change takes effect by itself on a real OpenWrt, on python3 and on MicroPython: a
plain `uci commit` from the shell (which fires no event) and the ways LuCI changes config
through rpcd's uci object (set + commit, and Save & Apply's set + apply + confirm).

The product promises an apply within 2 s of a commit: that is the bound of each wait here."""

import pytest
from router import CONFIG_FILE, PROMISE_S, eventually, pptp_blocked

pytestmark = pytest.mark.openwrt


def test_a_plain_uci_commit_takes_effect_within_2_s(boot, variant):
    router = boot(variant)
    assert not pptp_blocked(router)

    router.sh("uci set vpnpassthrough.main.pptp=0; uci commit vpnpassthrough")

    eventually(lambda: pptp_blocked(router), "the committed pptp=0 is in force", PROMISE_S)


def test_an_uncommitted_uci_set_is_not_applied_even_by_a_reload(boot, variant):
    router = boot(variant)
    router.run("uci", "set", "vpnpassthrough.main.pptp=0")  # staged in /tmp/.uci only

    router.run("/etc/init.d/vpnpassthrough", "reload")

    assert not pptp_blocked(router), router.status()["protocols"]["pptp"]
    assert "option pptp '1'" in router.read(CONFIG_FILE)


def luci_set_pptp_off(router, sid):
    """What LuCI's form does on Save: `uci set` through rpcd, checked against the session's
    ACL (the package's grants write on the vpnpassthrough config)."""
    router.ubus("uci", "set", {"ubus_rpc_session": sid, "config": "vpnpassthrough",
                               "section": "main", "values": {"pptp": "0"}})


def test_luci_set_and_commit_through_rpcd_take_effect_within_2_s(boot, variant):
    router = boot(variant, luci=True)
    sid = router.login()
    luci_set_pptp_off(router, sid)

    router.ubus("uci", "commit", {"ubus_rpc_session": sid, "config": "vpnpassthrough"})

    eventually(lambda: pptp_blocked(router), "the committed pptp=0 is in force", PROMISE_S)
    assert "option pptp '0'" in router.read(CONFIG_FILE)


def test_luci_save_and_apply_through_rpcd_takes_effect_within_2_s(boot, variant):
    router = boot(variant, luci=True)
    sid = router.login()
    luci_set_pptp_off(router, sid)

    # Save & Apply: apply with rollback, then confirm (what LuCI's apply_rollback does).
    router.ubus("uci", "apply", {"ubus_rpc_session": sid, "rollback": True, "timeout": 30})
    router.ubus("uci", "confirm", {"ubus_rpc_session": sid})

    eventually(lambda: pptp_blocked(router), "the applied pptp=0 is in force", PROMISE_S)
    assert router.ubus("uci", "changes", {"ubus_rpc_session": sid}) == {"changes": {}}


def test_set_over_ubus_commits_its_own_change_and_nothing_a_shell_user_staged(boot, variant):
    router = boot(variant)
    router.run("uci", "set", "vpnpassthrough.main.l2tp=0")  # staged in /tmp/.uci only

    reply = router.ubus("vpnpassthrough", "set", {"pptp": False})

    assert reply["ok"] is True, reply
    committed = router.read(CONFIG_FILE)
    assert "option pptp '0'" in committed and "option l2tp '1'" in committed
    assert pptp_blocked(router)
    assert router.run("uci", "changes", "vpnpassthrough").stdout.strip() == \
        "vpnpassthrough.main.l2tp='0'"  # still the shell user's to commit or revert
