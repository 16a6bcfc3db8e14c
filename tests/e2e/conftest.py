"""One topology (namespaces, agent, VPN peers) for the whole e2e run, reset before each test.

Building it takes seconds, so tests share it; each test starts from a freshly created agent
table (zero counters, no remembered ESP peers) with the default config, an empty conntrack
table and an empty server log, whatever the test before it left behind.
"""

import pytest
from topology import Topology
from traffic import Peers


@pytest.fixture(scope="session")
def lab():
    with Topology() as topology:
        yield topology, Peers(topology)


@pytest.fixture
def net(lab):
    topology, peers = lab
    topology.agent.configure(enabled=0)
    topology.agent.reload()
    topology.agent.configure()
    topology.agent.reload()
    topology.router.run(["conntrack", "-F"])
    peers.server_log()
    return topology


@pytest.fixture
def peers(net, lab):
    return lab[1]
