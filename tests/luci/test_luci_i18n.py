"""Every word the page shows is translatable, and the translation template is current."""

import os
import re

import i18n_scan
import pytest


def test_translation_template_is_generated_from_the_current_view():
    with open(os.path.join(i18n_scan.REPO, i18n_scan.POT)) as f:
        stored = f.read()
    assert stored == i18n_scan.template(), (
        "stale {}: run python3 tests/luci/i18n_scan.py".format(i18n_scan.POT))


def test_template_holds_the_switches_and_the_menu_title():
    found = i18n_scan.messages()
    for text in ("IPsec Passthrough", "PPTP Passthrough", "L2TP Passthrough", "Enable",
                 "Disable", "No VPN tunnel crosses the router right now."):
        assert text in found
    assert found["VPN Passthrough"][-1].endswith(
        "luci-app-vpnpassthrough.json:admin/services/vpnpassthrough")


def test_words_are_the_users_not_the_developers():
    found = [text for text in i18n_scan.messages() if re.search(
        r"\bagents?\b|stands? aside|::", text, re.I)]
    assert found == []


def test_view_shows_no_sentence_outside_translation():
    with open(os.path.join(i18n_scan.REPO, i18n_scan.VIEW)) as f:
        assert i18n_scan.untranslated_text(f.read()) == []


def test_scanner_tells_translated_from_plain_strings():
    source = "// 'Not code'\nvar a = _('Shown text'), b = 'class name', c = x_('Other text');\n"
    assert i18n_scan.literals(source) == [
        ("Shown text", 2, True), ("class name", 2, False), ("Other text", 2, False)]
    assert i18n_scan.untranslated_text(source) == [("Other text", 2)]


def test_scanner_refuses_an_expression_inside_translation():
    with pytest.raises(i18n_scan.ScanError):
        i18n_scan.literals("_('Hello ' + name)")


def test_long_messages_wrap_like_luci_templates():
    text = "word " * 30 + "end"
    lines = i18n_scan._msgid(text).splitlines()
    assert lines[0] == 'msgid ""'
    assert all(len(line) <= i18n_scan.WIDTH for line in lines)
    assert "".join(line[1:-1] for line in lines[1:]) == text
