"""The package's own postrm where it acts (IPKG_INSTROOT empty: a router), in
a sandbox: a test network namespace (its own nftables) and a mount namespace with a fresh
/run, so /var/run is the sandbox's own; uci and killall are recording stand-ins. A removal
deletes the table, the firewall include and /var/run/vpnpassthrough under firewall4's lock,
and tells rpcd; an upgrade keeps everything, an image's root is not touched at all. The
script as each format ships it."""

import pytest
from apk_files import apk_name
from expected import CORE
from ipk_files import ipk_name

# The uci stand-in also records whether firewall4's lock is held while it runs.
STAND_INS = {
    "uci": 'if flock -n /run/fw4.lock true; then lock=free; else lock=held; fi\n'
           'echo "uci $* (lock $lock)" >> "$CALLS"\n',
    "killall": 'echo "killall $*" >> "$CALLS"\n',
}
# Run in the sandbox: what an agent left in force, the script, then what is left.
SANDBOX = """mount -t tmpfs sandbox /run || exit 99
mkdir /run/vpnpassthrough && echo "flush ruleset" > /run/vpnpassthrough/ruleset.nft
nft add table inet vpnpassthrough || exit 99
sh "$1" remove
echo "rc $?"
nft list tables
ls /run
"""


@pytest.fixture
def sandbox(netns, tmp_path):
    """Runs a script in the sandbox with extra environment; returns (output lines, calls)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in STAND_INS.items():
        (bin_dir / tool).write_text("#!/bin/sh\n" + body)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls"

    def run(script_text, **env):
        script = tmp_path / "script"
        script.write_text(script_text)
        calls.unlink(missing_ok=True)
        done = netns.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          SANDBOX, "sandbox", str(script)],
                         env=dict(env, PATH=f"{bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
                                  CALLS=str(calls)))
        recorded = calls.read_text().split("\n")[:-1] if calls.exists() else []
        return done.stdout.split("\n")[:-1], recorded

    return run


FORMATS = pytest.mark.parametrize("fmt", ["ipk", "apk"])


def postrm(packages, apks, fmt):
    if fmt == "ipk":
        return packages[ipk_name(CORE)].control_file("postrm")
    return apks[apk_name(CORE)].package["scripts"]["post-deinstall"]


@FORMATS
def test_removal_leaves_nothing_in_force_and_rpcd_forgets_the_object(packages, apks, sandbox,
                                                                       fmt):
    lines, calls = sandbox(postrm(packages, apks, fmt))
    assert lines == ["rc 0", "fw4.lock"]  # no table, no state; the lock file fw4 uses
    assert calls == ["uci -q delete firewall.vpnpassthrough (lock held)",
                     "uci -q commit firewall (lock held)", "killall -HUP rpcd"]


@FORMATS
def test_an_upgrade_keeps_everything(packages, apks, sandbox, fmt):
    lines, calls = sandbox(postrm(packages, apks, fmt), PKG_UPGRADE="1")
    assert lines == ["rc 0", "table inet vpnpassthrough", "vpnpassthrough"]
    assert calls == ["killall -HUP rpcd"]


@FORMATS
def test_an_images_root_is_not_touched(packages, apks, sandbox, fmt):
    lines, calls = sandbox(postrm(packages, apks, fmt), IPKG_INSTROOT="/image")
    assert lines == ["rc 0", "table inet vpnpassthrough", "vpnpassthrough"]
    assert calls == []
