"""Grant values: normalised once, matched literally, look-alikes and wildcards refused."""

from __future__ import annotations

import pytest

from acl import Grant, InvalidValue, grant_within, make_grant


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("sender", "  Alice@Example.COM ", "alice@example.com"),
        ("sender", "O'Neil%_x@example.com", "o'neil%_x@example.com"),
        ("sender", '"a\\"b"@example.com', '"a\\"b"@example.com'),
        ("sender", "jörg@Bücher.de", "jörg@xn--bcher-kva.de"),
        ("domain", "Bücher.DE.", "xn--bcher-kva.de"),
        ("domain", "xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("sasl", "Alice@Example.com", "alice@example.com"),
        ("sasl", "o'neil%", "o'neil%"),
        ("gateway", "GW-Paris.1", "gw-paris.1"),
        ("gateway", "*", "*"),
    ],
)
def test_values_are_normalised_to_the_lake_form(kind, value, expected):
    assert make_grant(kind, value).value == expected


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("domain", "%.com", "host name label"),
        ("domain", "*.example.com", "host name label"),
        ("domain", "exa_mple.com", "host name label"),
        ("domain", "example.com'; DROP TABLE x; --", "space"),
        ("domain", "ｅxample.com", "canonical"),  # fullwidth e
        ("domain", "pаypal.com", "mixes scripts"),  # Cyrillic a
        ("domain", "xn--pypal-4ve.com", "mixes scripts"),  # the same, in A-label form
        ("domain", "straße.de", "ambiguous"),  # IDNA 2003 would map it to strasse.de
        ("domain", "İnfo.com", "lower-case"),  # lower() gives i + combining dot
        ("domain", "xn--zzzzzz.com", "IDNA"),
        ("sender", "alice\u200b@example.com", "invisible"),  # zero-width space
        ("sender", "alice\u202e@example.com", "invisible"),  # right-to-left override
        ("sender", "alice\n@example.com", "control"),
        ("sender", "ａlice@example.com", "canonical"),  # fullwidth a
        ("sender", "аlice@example.com", "mixes scripts"),  # Cyrillic a
        ("sender", "e\u0301mile@example.com", "canonical"),  # decomposed é
        ("sender", "alice", "local@domain"),
        ("sender", "a@b@example.com", "quoted"),
        ("sender", "", "empty"),
        ("sasl", "ﬁle", "canonical"),  # fi ligature
        ("sasl", "bob smith", "space"),
        ("kindless", "x", "unknown grant kind"),
    ],
)
def test_ambiguous_or_wildcard_values_are_refused(kind, value, reason):
    with pytest.raises(InvalidValue, match=reason):
        make_grant(kind, value)


def test_subdomains_flag_only_for_domains():
    assert make_grant("domain", "example.com", include_subdomains=True).include_subdomains
    with pytest.raises(InvalidValue):
        make_grant("sender", "a@example.com", include_subdomains=True)


def test_grant_within_is_conservative():
    held = (
        Grant("domain", "example.com", True),
        Grant("domain", "exact.org"),
        Grant("sasl", "bob"),
        Grant("gateway", "gw1"),
    )
    within = [
        Grant("sender", "x@example.com"),
        Grant("sender", "x@deep.sub.example.com"),
        Grant("domain", "sub.example.com", True),
        Grant("domain", "example.com"),
        Grant("domain", "exact.org"),
        Grant("sender", "y@exact.org"),
        Grant("sasl", "bob"),
        Grant("gateway", "gw1"),
    ]
    outside = [
        Grant("sender", "x@notexample.com"),
        Grant("domain", "sub.exact.org"),
        Grant("domain", "exact.org", True),
        Grant("sasl", "bobby"),
        Grant("gateway", "gw2"),
        Grant("gateway", "*"),
        Grant("domain", "com", True),
    ]
    assert all(grant_within(g, held) for g in within)
    assert not any(grant_within(g, held) for g in outside)
    assert grant_within(Grant("domain", "anything.net", True), (Grant("gateway", "*"),))
