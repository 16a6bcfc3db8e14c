"""The bench's router for the control-plane figures: a namespace it creates and deletes by its
own name (also after a failure), and the agent run against it.

The data-plane figure uses the end-to-end tests' home network (tests/e2e/topology.py) instead.
"""

import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import measure  # noqa: E402  (tests/ is on the path from the line above)
from netns import (  # noqa: E402
    Namespace,
    agent_env,
    micropython_argv,
    unique_prefix,
    write_config,
)

WAN_DEVICE = "wan0"
RUNTIMES = ("cpython", "micropython")
ALL_ON = {"wan_device": [WAN_DEVICE]}
L2TP_OFF = dict(ALL_ON, l2tp="0")  # the change the reaction and memory figures make


def interpreter(runtime):
    return {"cpython": [sys.executable], "micropython": micropython_argv()}[runtime]


class Agent:
    """Fresh config and state directories, and the real CLI run inside the router namespace."""

    def __init__(self, router, folder):
        self.ns = router
        self.config_dir = os.path.join(folder, "config")
        self.state_dir = os.path.join(folder, "state")
        os.makedirs(self.config_dir)
        self.env = agent_env(self.config_dir, self.state_dir)

    def commit(self, options):
        """Write the committed config atomically, as `uci commit` does."""
        return write_config(self.config_dir, **options)

    def argv(self, runtime, *args):
        return interpreter(runtime) + ["-m", "vpnpassthrough"] + list(args)

    def run(self, runtime, *args):
        return measure.run(self.argv(runtime, *args), ns=self.ns.name, env=self.env)

    def ruleset_file(self, options, name):
        """The exact text `apply` would load for these options, saved for a bare `nft -f`."""
        self.commit(options)
        text = self.run("cpython", "ruleset").check("vpnpassthrough ruleset").out
        path = os.path.join(os.path.dirname(self.config_dir), name + ".nft")
        with open(path, "w") as f:
            f.write(text)
        return path


class Lab:
    def __init__(self):
        self.scratch = tempfile.mkdtemp(prefix="vpnpassthrough-bench-")
        self.router = None
        try:
            self.router = Namespace(unique_prefix())
            # A WAN device exists so the agent's set refers to something real.
            self.router.run(["ip", "link", "add", WAN_DEVICE, "type", "veth", "peer", "name",
                             "wan0peer"])
            self.router.run(["ip", "link", "set", WAN_DEVICE, "up"])
        except BaseException:
            self.close()
            raise

    def agent(self, name):
        return Agent(self.router, os.path.join(self.scratch, name))

    def close(self):
        if self.router:
            self.router.delete()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
