"""firewall4 re-renders its ruleset often (every ifup, every firewall restart). `restart` and
`fw4 reload` load the package's include in fw4's own transaction, which re-creates the agent's
table from the ruleset file the agent last applied; `stop` deletes every table and `start`
brings it back only through that include. Either way the table afterwards is the one the
config asks for (the same rules; counters restart), and fw4's own table is still there."""

import pytest
from router import PROMISE_S, eventually, pptp_blocked, rules

pytestmark = pytest.mark.openwrt


@pytest.mark.parametrize("command", [
    "/etc/init.d/firewall restart",
    "/etc/init.d/firewall stop; /etc/init.d/firewall start",
    "fw4 reload",
])
def test_the_firewall_brings_back_the_table_the_config_asks_for(router, command):
    router.sh("uci set vpnpassthrough.main.pptp=0; uci commit vpnpassthrough")
    eventually(lambda: pptp_blocked(router), "pptp=0 is in force", PROMISE_S)
    before = rules(router.table())

    router.sh(command)

    tables = router.run("nft", "list", "tables").stdout.split("\n")
    assert "table inet fw4" in tables
    after = router.table()
    assert after is not None, tables
    assert rules(after) == before
    assert pptp_blocked(router)
