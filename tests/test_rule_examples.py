"""The rule table's own cited examples: each is decided by its rule, and stays so when mutated."""

from __future__ import annotations

import re

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse.classify import classify_frame, load_rules
from warehouse.ruletable import Rule

RULES = load_rules(None).rules
PROVIDER_RULES = [r for r in RULES if r.tier == "provider" and r.example.text]
TEXT_RULES = [r for r in RULES if r.example.text]
SCHEMA = {"dsn": pl.String, "status": pl.String, "response": pl.String}
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def verdict(dsn: str | None, status: str | None, text: str | None) -> dict:
    frame = pl.DataFrame({"dsn": [dsn], "status": [status], "response": [text]}, schema=SCHEMA)
    return classify_frame(frame).row(0, named=True)


def mutate(text: str, data: st.DataObject) -> str:
    """What a real reply varies by without changing its meaning: case, ids, addresses, IPs, framing."""
    ip = ".".join(str(data.draw(st.integers(1, 254))) for _ in range(4))
    user = data.draw(st.from_regex(r"[a-z]{3,10}", fullmatch=True))
    text = re.sub(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", ip, text)
    text = re.sub(r"[\w.+-]+@([\w-]+\.)+\w+", f"{user}@example.org", text)
    text = data.draw(st.sampled_from([str, str.lower, str.upper]))(text)
    prefix = data.draw(st.sampled_from(["", f"host mx.example.org[{ip}] said: "]))
    suffix = data.draw(st.sampled_from(["", " (in reply to RCPT TO command)", " (in reply to end of DATA command)"]))
    return prefix + text + suffix


def as_temporary(rule: Rule) -> tuple[str | None, str | None]:
    """The rule's example with its reply codes and DSN made temporary (4xx, 4.x.x)."""
    text = rule.example.text
    if text is not None:
        text = re.sub(r"\b5([0-9][0-9])([ -]|$)", r"4\1\2", text)
        text = re.sub(r"\b5\.([0-9]{1,3}\.[0-9]{1,3})\b", r"4.\1", text)
    dsn = re.sub(r"^5\.", "4.", rule.example.dsn) if rule.example.dsn else None
    return dsn, text


def carries_a_temporary_code(dsn: str | None, text: str | None) -> bool:
    """A 4.x.x DSN, or a 4xx reply code where the classifier reads one (start of the text or after ':')."""
    return bool((dsn and dsn.startswith("4.")) or (text and re.search(r"(?:^|[:;] ?)4[0-9][0-9](?:[ -]|$)", text)))


def test_every_builtin_rule_has_a_cited_example_that_it_decides():
    frame = pl.DataFrame(
        {
            "dsn": [r.example.dsn for r in RULES],
            "status": [r.example.status for r in RULES],
            "response": [r.example.text for r in RULES],
        },
        schema=SCHEMA,
    )
    decided = classify_frame(frame)["rule"].to_list()
    assert [(r.name, got) for r, got in zip(RULES, decided, strict=True) if got != r.name] == []
    assert all(r.example.source for r in RULES)


@PROPERTY_SETTINGS
@given(st.sampled_from(PROVIDER_RULES), st.data())
def test_a_provider_rule_beats_the_text_rules_on_its_mutated_example(rule, data):
    text = mutate(rule.example.text, data)
    assert verdict(rule.example.dsn, rule.example.status, text)["rule"] == rule.name


@PROPERTY_SETTINGS
@given(st.sampled_from(TEXT_RULES), st.data())
def test_a_mutated_example_keeps_its_reason(rule, data):
    text = mutate(rule.example.text, data)
    assert verdict(rule.example.dsn, rule.example.status, text)["reason"] == rule.reason


@PROPERTY_SETTINGS
@given(st.sampled_from(RULES), st.sampled_from([None, "bounced"]), st.data())
def test_an_example_made_temporary_is_never_hard(rule, status, data):
    dsn, text = as_temporary(rule)
    text = mutate(text, data) if text else text
    assert verdict(dsn, "deferred", text)["qualification"] != "hard", rule.name
    if carries_a_temporary_code(dsn, text):
        assert verdict(dsn, status, text)["qualification"] != "hard", rule.name
