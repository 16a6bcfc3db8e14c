"""Differential tests of the stand-ins the rest of the suite keeps for where no OpenWrt exists:
each runs one scenario against the stand-in and against the real part on a router, and the
outcomes must be the same.

    tests/ubus/fakes/uci       vs /sbin/uci (libuci's CLI): the same commands on the same file
    tests/ubus/fakes/procd.sh  vs procd: the calls it records for the init script, and what
                               procd registers when the init script really runs
    tests/ubus/fakes/ubus.py   vs python-ubus with ubusd: one scenario of calls, and the
                               network.interface events the stand-in tests feed the daemon

(The e2e topology's stand-in firewall is compared with firewall4 in test_openwrt_traffic.py.)
"""

import json
import os
import subprocess
import sys

import pytest
from netns import AGENT, FAKES, REPO

pytestmark = pytest.mark.openwrt

HERE = os.path.dirname(os.path.abspath(__file__))
INIT = os.path.join(REPO, "files", "etc", "init.d", "vpnpassthrough")
UCI_DEFAULTS = os.path.join(REPO, "files", "etc", "uci-defaults", "90-vpnpassthrough")
SCENARIO = os.path.join(HERE, "ubus_scenario.py")
STOCK_FIREWALL = "/tmp/stock-firewall"  # the router's /etc/config/firewall before install
SERVE_S = 30


def keep_stock_firewall(router):
    router.run("cp", "/etc/config/firewall", STOCK_FIREWALL)


# -- uci ------------------------------------------------------------------------------------

class Ucis:
    """The fake uci on the host and the real one in the router, each with a config directory
    that starts as the router's stock firewall config."""

    def __init__(self, router, tmp_path):
        self.router = router
        self.fake_dir = str(tmp_path / "fake")
        os.makedirs(self.fake_dir)
        with open(os.path.join(self.fake_dir, "firewall"), "w") as f:
            f.write(router.read(STOCK_FIREWALL))
        self.real_dir = "/tmp/uci-real"
        # `uci` on PATH as the real CLI on the real directory, for scripts that call plain uci.
        router.sh("mkdir -p {0} /tmp/uci-bin && cp {1} {0}/firewall && "
                  "printf '#!/bin/sh\\nexec /sbin/uci -c {0} \"$@\"\\n' > /tmp/uci-bin/uci && "
                  "chmod +x /tmp/uci-bin/uci".format(self.real_dir, STOCK_FIREWALL))
        self.fake_env = dict(os.environ, PATH=FAKES + ":" + os.environ["PATH"],
                             PYTHONPATH=AGENT, UCI_CONFIG_DIR=self.fake_dir)

    def run(self, script, stdin=""):
        """(fake, real): exit status and output of a shell script calling `uci`."""
        fake = subprocess.run(["sh", "-c", script], input=stdin, env=self.fake_env,
                              capture_output=True, text=True)
        real = self.router.run("sh", "-c", "PATH=/tmp/uci-bin:$PATH; " + script, check=False,
                               input=stdin)
        return (fake.returncode, fake.stdout), (real.returncode, real.stdout)

    def show(self):
        """(fake, real): each resulting file as the real uci reads it (`uci show firewall`)."""
        with open(os.path.join(self.fake_dir, "firewall")) as f:
            self.router.run("sh", "-c", "mkdir -p /tmp/uci-fake && cat > /tmp/uci-fake/firewall",
                            input=f.read())
        return tuple(self.router.run("uci", "-c", folder, "show", "firewall").stdout
                     for folder in ("/tmp/uci-fake", self.real_dir))


GETS = ["uci -q get firewall.vpnpassthrough", "uci -q get firewall.vpnpassthrough.path",
        "uci -q get firewall.vpnpassthrough.nothere", "uci -q get firewall.nothere"]


def test_fake_uci_runs_the_uci_defaults_script_as_the_real_uci_does(boot, tmp_path):
    ucis = Ucis(boot(prepare=keep_stock_firewall), tmp_path)
    with open(UCI_DEFAULTS) as f:
        script = f.read()

    for _ in range(2):  # the second run must change nothing
        fake, real = ucis.run(script)
        assert fake == real
        fake, real = ucis.show()
        assert fake == real
    for get in GETS:
        fake, real = ucis.run(get)
        assert fake == real, get


def test_fake_uci_batch_unquotes_values_as_the_real_uci_does(boot, tmp_path):
    ucis = Ucis(boot(prepare=keep_stock_firewall), tmp_path)
    batch = ("set firewall.quoted=include\n"
             "set firewall.quoted.name='VPN passthrough'\n"
             "set firewall.quoted.path=\"/var/run/a b.nft\"\n"
             "commit firewall\n")

    fake, real = ucis.run("uci -q batch", batch)

    assert fake == real
    fake, real = ucis.show()
    assert fake == real
    fake, real = ucis.run("uci -q get firewall.quoted.name")
    assert fake == real


# -- procd ----------------------------------------------------------------------------------

def registration_from_fake(tmp_path):
    """What the calls the fake procd.sh records for start_service and service_triggers ask
    procd to register: the instance's command, whether it respawns, the reload triggers."""
    log = tmp_path / "procd.log"
    log.write_text("")
    subprocess.run(["sh", os.path.join(FAKES, "procd.sh"), INIT, "start_service",
                    "service_triggers"], check=True, env=dict(os.environ, PROCD_LOG=str(log)))
    found = {"command": None, "respawn": False, "reload_triggers": []}
    for call in log.read_text().splitlines():
        words = call.split()
        if words[:2] == ["procd_set_param", "command"]:
            found["command"] = words[2:]
        elif words[:2] == ["procd_set_param", "respawn"]:
            found["respawn"] = True
        elif words[0] == "procd_add_reload_trigger":
            found["reload_triggers"] += words[1:]
    return found


def registration_in_procd(router):
    """The same, as the real procd holds it after opkg installed and started the service."""
    service = router.ubus("service", "list", {"name": "vpnpassthrough", "verbose": True})[
        "vpnpassthrough"]
    instance, = service["instances"].values()
    reload = ["run_script", "/etc/init.d/vpnpassthrough", "reload"]
    triggers = [rule[1][1][2] for rule in service.get("triggers", [])
                if rule[0] == "config.change" and rule[1][0] == "if" and rule[1][2] == reload]
    return {"command": instance["command"], "respawn": "respawn" in instance,
            "reload_triggers": triggers}


def test_fake_procd_records_what_real_procd_registers_for_the_init_script(router, tmp_path):
    assert registration_from_fake(tmp_path) == registration_in_procd(router)


# -- python-ubus ----------------------------------------------------------------------------

def test_fake_ubus_gives_the_outcomes_of_python_ubus_for_what_the_agent_does(router,
                                                                            tmp_path):
    router.copy_in(SCENARIO, "/tmp/")
    real = json.loads(router.run("python3", "/tmp/ubus_scenario.py", "announce").stdout)
    bus = tmp_path / "bus"
    bus.mkdir()
    fake = json.loads(subprocess.run(
        [sys.executable, SCENARIO, "announce"], check=True, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=FAKES, FAKE_UBUS_DIR=str(bus))).stdout)

    differ = ["{}: fake {}, real {}".format(f[0], f[1:], r[1:])
              for f, r in zip(fake, real, strict=True) if f != r]
    assert differ == [], "\n".join(differ)


def test_python_ubus_refuses_any_argument_it_did_not_declare(router):
    """Why the API is an rpcd plugin: LuCI adds ubus_rpc_session to every call."""
    router.copy_in(SCENARIO, "/tmp/")
    server = router.popen("python3", "/tmp/ubus_scenario.py", "serve", str(SERVE_S),
                          stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        outcomes = {step: rest for step, *rest in json.loads(
            router.run("python3", "/tmp/ubus_scenario.py", "calls").stdout)}
    finally:
        server.stdout.close()
        server.wait(timeout=SERVE_S)
    assert outcomes['call none {}'] == ["ok", [{"got": {}}]]
    assert outcomes['call none {"ubus_rpc_session": "0123"}'][1].endswith("Invalid argument")
