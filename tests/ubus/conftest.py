import json
import os
import shutil
import subprocess

import pytest
from netns import AGENT, REPO, agent_argv, agent_env

FILES = os.path.join(REPO, "files")


def service_env(agent, tmp_path, **extra):
    """The agent's environment, with syslog sent to a socket of the test's own (or nowhere)."""
    env = agent_env(agent.config_dir, agent.state_dir)
    env["VPNPASSTHROUGH_SYSLOG"] = str(tmp_path / "syslog.sock")
    env.update(extra)
    return env


@pytest.fixture
def plugin(tmp_path, agent):
    """The rpcd plugin file in a staging root (launcher in usr/sbin, agent in usr/lib), run as
    rpcd runs it: `PLUGIN list` or `PLUGIN call METHOD` with the JSON arguments on stdin."""
    root = tmp_path / "root"
    for where in ("usr/libexec/rpcd/vpnpassthrough", "usr/sbin/vpnpassthrough"):
        os.makedirs(root / os.path.dirname(where), exist_ok=True)
        shutil.copy2(os.path.join(FILES, where), root / where)
    lib = root / "usr/lib/vpnpassthrough"
    os.makedirs(lib)
    os.symlink(os.path.join(AGENT, "vpnpassthrough"), lib / "vpnpassthrough")
    env = service_env(agent, tmp_path)
    del env["PYTHONPATH"], env["MICROPYPATH"]  # the plugin must find the agent by itself

    class Plugin:
        path = str(root / "usr/libexec/rpcd/vpnpassthrough")
        base_env = env

        def run(self, ns, argv, stdin=b"", env=None):
            """(reply, completed process): the reply is the JSON object printed on stdout."""
            if isinstance(stdin, str):
                stdin = stdin.encode()
            done = ns.run([self.path] + argv, check=False, input=stdin, text=False,
                          env=env or self.base_env)
            return json.loads(done.stdout.decode()), done

        def call(self, ns, method, args):
            return self.run(ns, ["call", method], json.dumps(args))[0]

    return Plugin()


@pytest.fixture
def daemon(agent, tmp_path):
    """Start `vpnpassthrough daemon` in a namespace; every daemon started is killed by pid."""
    started = []

    def start(ns, python=None, **env):
        log = open(tmp_path / "daemon{}.log".format(len(started)), "w")
        proc = ns.popen(agent_argv(python) + ["daemon"], env=service_env(agent, tmp_path, **env),
                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        proc.log_file = log
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
            proc.log_file.close()
