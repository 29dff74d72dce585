"""Provider derivation from the recipient domain, falling back to the relay host."""

from __future__ import annotations

import polars as pl
import pytest

from warehouse.classify import load_rules
from warehouse.providers import provider_ids, provider_of


def providers(pairs: list[tuple[str | None, str | None]]) -> list[str]:
    frame = pl.DataFrame(
        {"recipient_domain": [d for d, _ in pairs], "relay": [r for _, r in pairs]},
        schema={"recipient_domain": pl.String, "relay": pl.String},
    )
    return provider_of(frame).to_list()


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("gmail.com", "google"),
        ("googlemail.com", "google"),
        ("outlook.com", "microsoft"),
        ("hotmail.com", "microsoft"),
        ("hotmail.fr", "microsoft"),
        ("live.fr", "microsoft"),
        ("msn.com", "microsoft"),
        ("outlook.fr", "microsoft"),
        ("yahoo.com", "yahoo"),
        ("yahoo.fr", "yahoo"),
        ("yahoo.co.uk", "yahoo"),
        ("aol.com", "yahoo"),
        ("aol.fr", "yahoo"),
        ("ymail.com", "yahoo"),
        ("rocketmail.com", "yahoo"),
        ("icloud.com", "apple"),
        ("me.com", "apple"),
        ("mac.com", "apple"),
        ("orange.fr", "orange"),
        ("wanadoo.fr", "orange"),
        ("free.fr", "free"),
        ("sfr.fr", "sfr"),
        ("neuf.fr", "sfr"),
        ("laposte.net", "laposte"),
        ("bbox.fr", "bouygues"),
        ("gmx.de", "gmx"),
        ("gmx.net", "gmx"),
        ("gmx.fr", "gmx"),
        ("web.de", "gmx"),
        ("1und1.de", "gmx"),
        ("yandex.ru", "yandex"),
        ("yandex.com", "yandex"),
        ("mail.ru", "mailru"),
        ("zoho.com", "zoho"),
        ("proton.me", "proton"),
        ("protonmail.com", "proton"),
        ("fastmail.com", "fastmail"),
    ],
)
def test_known_recipient_domain_names_its_provider(domain, expected):
    assert providers([(domain, None)]) == [expected]


@pytest.mark.parametrize(
    ("relay", "expected"),
    [
        ("aspmx.l.google.com[142.250.102.27]:25", "google"),
        ("alt1.gmail-smtp-in.l.google.com[74.125.23.26]:25", "google"),
        ("example-com.mail.protection.outlook.com[52.101.68.1]:25", "microsoft"),
        ("hotmail-com.olc.protection.outlook.com[104.47.66.33]:25", "microsoft"),
        ("mta7.am0.yahoodns.net[67.195.228.94]:25", "yahoo"),
        ("mx01.mail.icloud.com[17.57.154.33]:25", "apple"),
        ("smtp-in.orange.fr[193.252.22.65]:25", "orange"),
        ("mx1.free.fr[212.27.48.7]:25", "free"),
        ("mx00.emig.gmx.net[212.227.15.9]:25", "gmx"),
        ("mx00.ionos.de[212.227.15.41]:25", "gmx"),
        ("mx0a-001.pphosted.com[148.163.129.1]:25", "proofpoint"),
        ("eu-smtp-inbound-1.mimecast.com[195.130.217.1]:25", "mimecast"),
        ("d123.a.ess.barracudanetworks.com[209.222.82.1]:25", "barracuda"),
        ("mx1.hc1234-56.iphmx.com[68.232.1.1]:25", "cisco"),
        ("mx.zoho.eu[185.20.211.1]:25", "zoho"),
        ("mail.protonmail.ch[185.70.42.128]:25", "proton"),
        ("in1-smtp.messagingengine.com[66.111.4.72]:25", "fastmail"),
        ("mx1.mail.ovh.net[188.165.36.237]:25", "ovh"),
        ("spool.mail.gandi.net[217.70.178.1]:25", "gandi"),
        ("mta-gw.infomaniak.ch[83.166.143.1]:25", "infomaniak"),
        ("mx.yandex.net[77.88.21.249]:25", "yandex"),
        ("mxs.mail.ru[94.100.176.20]:25", "mailru"),
    ],
)
def test_unknown_domain_falls_back_to_the_relay_host(relay, expected):
    assert providers([("client-company.example", relay)]) == [expected]


def test_recipient_domain_wins_over_the_relay():
    assert providers([("gmail.com", "smarthost.example.net[192.0.2.1]:587")]) == ["google"]


def test_names_match_on_label_boundaries_only():
    assert providers([("notgmail.com", None), ("x.example", "evilgoogle.com[192.0.2.1]:25"), ("myyahoo.fr", None)]) == [
        "other",
        "other",
        "other",
    ]


def test_case_trailing_dot_and_missing_values():
    assert providers(
        [
            ("GMAIL.COM.", None),
            ("x.example", "ASPMX.L.GOOGLE.COM.[1.2.3.4]:25"),
            (None, None),
            ("x.example", "none"),
            ("", "local"),
        ]
    ) == ["google", "google", "other", "other", "other"]


def test_provider_of_keeps_height_and_order_on_large_frames():
    domains = ["gmail.com", "orange.fr", "client.example"] * 5000
    relays = [None, None, "mx0b-002.pphosted.com[148.163.1.1]:25"] * 5000
    result = provider_of(pl.DataFrame({"recipient_domain": domains, "relay": relays}))
    assert result.name == "provider" and result.len() == 15000
    assert result.to_list()[:3] == ["google", "orange", "proofpoint"] and result.to_list()[-3:] == result.to_list()[:3]


def test_missing_columns_mean_other():
    assert provider_of(pl.DataFrame({"x": [1, 2]})).to_list() == ["other", "other"]


def test_rule_table_providers_are_known_providers():
    known = set(provider_ids())
    assert {r.provider for r in load_rules(None).rules if r.provider} <= known
