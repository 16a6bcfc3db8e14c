"""Every golden ruleset is one the kernel's nft accepts (checked inside a test namespace)."""

import os

import pytest
import test_ruleset


@pytest.mark.parametrize("case", list(test_ruleset.cases()))
def test_golden_ruleset_passes_nft_check(netns, case):
    path = os.path.join(test_ruleset.GOLDEN, case + ".nft")
    netns.run(["nft", "-c", "-f", path])


def test_cli_ruleset_for_the_default_config_passes_nft_check(netns, agent, tmp_path):
    defaults = os.path.join(os.path.dirname(test_ruleset.GOLDEN), "..", "..", "files", "etc",
                            "config", "vpnpassthrough")
    with open(defaults) as f, open(os.path.join(agent.config_dir, "vpnpassthrough"), "w") as out:
        out.write(f.read())
    printed = agent.run(netns, "ruleset", check=True).stdout
    assert "table inet vpnpassthrough {" in printed
    path = tmp_path / "printed.nft"
    path.write_text(printed)
    netns.run(["nft", "-c", "-f", str(path)])
