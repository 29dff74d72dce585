"""Precedence of the classifier: which evidence decides a qualification when several disagree.

The ladder in `_match`: a success status, then `expired`, then any temporary sign (status, DSN column,
DSN in the text, 4xx reply), then any permanent sign, then an accepted 2xx code, and last the rule's
reason on its own (a bare text). A rule's own qualification wins over the ladder, except that a 4xx is
never hard. Each case below pits two rungs against each other, so swapping them fails a case.
"""

from __future__ import annotations

import polars as pl
import pytest

from relaywatch.core import ClassifySection
from warehouse import classify
from warehouse.classify import OUTPUT_COLUMNS, RuleSet, classify_frame, explain, load_rules
from warehouse.ruletable import builtin_rules


def frame_of(rows: list[tuple[str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"dsn": pl.String, "status": pl.String, "response": pl.String}, orient="row")


def verdict(dsn: str | None, status: str | None, text: str | None, rules: RuleSet | None = None) -> dict:
    return classify_frame(frame_of([(dsn, status, text)]), rules=rules).select(OUTPUT_COLUMNS).row(0, named=True)


@pytest.mark.parametrize(
    ("dsn", "status", "text", "qualification", "rule"),
    [
        # temporary beats permanent, whichever field carries each sign
        (None, "bounced", "451 user unknown", "soft", "text.user_unknown"),
        ("4.2.2", "bounced", "mailbox full", "soft", "text.mailbox_full"),
        ("4.x", None, "user unknown", "soft", "text.user_unknown"),
        ("4.0.0", None, "user unknown", "soft", "text.user_unknown"),
        (None, "softbounce", "user unknown", "soft", "text.user_unknown"),
        # permanent beats an accepted code and the bare text's default
        (None, None, "250 5.1.1 user unknown", "hard", "text.user_unknown"),
        (None, None, "550 mailbox full", "hard", "text.mailbox_full"),
        ("5.2.2", None, "mailbox full", "hard", "text.mailbox_full"),
        ("5.0.0", None, "mailbox full", "hard", "text.mailbox_full"),
        (None, "reject", "mailbox full", "hard", "text.mailbox_full"),
        (None, "rejected", "greylisted", "hard", "text.greylisted"),
        (None, "undeliverable", "mailbox full", "hard", "text.mailbox_full"),
        # an accepted code beats the bare text's default
        (None, None, "250 mailbox full", "success", "text.mailbox_full"),
        ("2.1.5", None, "mailbox full", "success", "text.mailbox_full"),
        (None, None, "2.1.5 mailbox full", "success", "text.mailbox_full"),
        # nothing but the text: the reason's own default
        (None, None, "mailbox full", "soft", "text.mailbox_full"),
        (None, None, "greylisted, try again later", "soft", "text.greylisted"),
        (None, None, "user unknown", "hard", "text.user_unknown"),
        ("2.0.0", None, "user unknown", "hard", "text.user_unknown"),
        # no rule at all
        (None, None, "zzz", "unknown", "none"),
    ],
)
def test_each_rung_of_the_qualification_ladder_beats_the_ones_below(dsn, status, text, qualification, rule):
    result = verdict(dsn, status, text)
    assert (result["qualification"], result["rule"]) == (qualification, rule)


@pytest.mark.parametrize(
    ("dsn", "status", "text", "qualification", "rule"),
    [
        # the edges of each reply-code class (a 3xx is none of them: the bare text decides)
        (None, None, "400 mailbox full", "soft", "text.mailbox_full"),
        (None, None, "499 mailbox full", "soft", "text.mailbox_full"),
        (None, None, "500 mailbox full", "hard", "text.mailbox_full"),
        (None, None, "599 mailbox full", "hard", "text.mailbox_full"),
        (None, None, "200 mailbox full", "success", "text.mailbox_full"),
        (None, None, "299 mailbox full", "success", "text.mailbox_full"),
        (None, None, "300 mailbox full", "soft", "text.mailbox_full"),
        (None, None, "399 user unknown", "hard", "text.user_unknown"),
        # a malformed DSN column still tells its class
        ("5.x", None, "mailbox full", "hard", "text.mailbox_full"),
        ("2.x", None, "mailbox full", "soft", "text.mailbox_full"),
        # statuses and DSNs are compared trimmed and case-blind
        (None, " BOUNCED ", "mailbox full", "hard", "text.mailbox_full"),
        (None, " Deferred ", "user unknown", "soft", "text.user_unknown"),
        (None, "SENT", "zzz", "success", "status.sent"),
        (" 5.2.2 ", None, "zzz", "hard", "dsn.5.2.2"),
        # which DSN the DSN tier reads: the column's, unless it says only its class (X.0.0) or is missing
        (None, None, "zzz 5.2.2 zzz", "hard", "dsn.5.2.2"),
        ("5.0.0", None, "zzz 5.2.2", "hard", "dsn.5.2.2"),
        ("5.1.1", None, "zzz 5.2.2", "hard", "dsn.5.1.1"),
        ("5.0.0", None, "zzz", "unknown", "none"),
        ("4.2.2", None, "zzz", "soft", "dsn.4.2.2"),
        (None, None, "550-5.1.1 zzz", "hard", "dsn.5.1.1"),
        # the reply tier reads the code after "said:" or at the start
        (None, None, "500 zzz", "hard", "reply.500-504"),
        (None, None, "host said: 500 zzz", "hard", "reply.500-504"),
    ],
)
def test_each_code_class_ends_where_the_rfc_says_and_fields_are_read_trimmed(dsn, status, text, qualification, rule):
    result = verdict(dsn, status, text)
    assert (result["qualification"], result["rule"]) == (qualification, rule)


def test_what_no_rule_matches_is_unknown_other_and_only_hard_blocking_reasons_are_suppressible():
    assert verdict(None, None, "zzz") == {
        "qualification": "unknown",
        "reason": "other",
        "suppressible": False,
        "rule": "none",
    }
    assert verdict(None, None, "550 user unknown")["suppressible"] is True
    assert verdict(None, None, "450 user unknown")["suppressible"] is False
    assert verdict(None, None, "550 mailbox full")["suppressible"] is False


def local(**rule: str) -> RuleSet:
    return load_rules(ClassifySection(rules=({"id": "r", **rule},)))


def test_a_local_rules_own_qualification_beats_the_codes_except_that_a_4xx_is_never_hard():
    assert (
        verdict(None, None, "550 zzz", local(pattern="zzz", reason="policy", qualification="soft"))["qualification"]
        == "soft"
    )
    assert (
        verdict(None, None, "250 zzz", local(pattern="zzz", reason="policy", qualification="hard"))["qualification"]
        == "hard"
    )
    assert (
        verdict("4.0.0", None, "zzz", local(pattern="zzz", reason="policy", qualification="hard"))["qualification"]
        == "soft"
    )
    # without a qualification of its own the rule's reason is qualified by the codes
    assert verdict(None, None, "250 zzz", local(pattern="zzz", reason="user_unknown")) == {
        "qualification": "success",
        "reason": "user_unknown",
        "suppressible": False,
        "rule": "local:r",
    }


def test_load_rules_puts_local_rules_first_and_reuses_the_builtin_set_and_its_memo():
    assert load_rules() is load_rules() is load_rules(ClassifySection())
    rules = local(pattern="zzz", reason="policy")
    assert rules.rules[1:] == builtin_rules() and rules.rules[0].name == "local:r"
    assert load_rules(ClassifySection(rules=({"id": "r", "pattern": "zzz", "reason": "other"},))) is not load_rules()


def test_the_rule_table_indexes_every_rule_by_position():
    rules = local(pattern="zzz", reason="policy", qualification="soft")
    table = rules.table()
    assert table.schema == pl.Schema({"_idx": pl.UInt32, "rule": pl.String, "_reason": pl.String, "_rule_q": pl.String})
    assert table["_idx"].to_list() == list(range(len(rules.rules)))
    assert table.row(0) == (0, "local:r", "policy", "soft")
    assert table["rule"].to_list() == [r.name for r in rules.rules]
    assert table["_reason"].to_list() == [r.reason for r in rules.rules]
    assert table["_rule_q"].to_list() == [r.qualification for r in rules.rules]


def test_known_classifies_each_combination_once_and_starts_over_past_its_limit(monkeypatch):
    rules = RuleSet(builtin_rules())
    first = frame_of([("5.1.1", "bounced", "user unknown"), ("4.2.2", "deferred", "mailbox full")])
    classify_frame(first, rules=rules)
    memo = rules.memo["verdicts"]
    assert memo.height == 2
    classify_frame(first.reverse(), rules=rules)
    assert rules.memo["verdicts"] is memo  # nothing new: not classified again
    again = classify_frame(frame_of([("5.1.1", "bounced", "user unknown"), (None, None, "zzz")]), rules=rules)
    assert rules.memo["verdicts"].height == 3
    assert again["rule"].to_list() == ["text.user_unknown", "none"]
    monkeypatch.setattr(classify, "MEMO_LIMIT", 3)
    classify_frame(frame_of([(None, None, "550 zzz")]), rules=rules)
    assert rules.memo["verdicts"].height == 4  # at the limit: still kept
    classify_frame(frame_of([(None, None, "450 zzz")]), rules=rules)
    assert rules.memo["verdicts"].height == 1  # past it: started over with the new combination only
    # the verdicts do not depend on what the memo held
    assert classify_frame(first, rules=rules)["rule"].to_list() == ["text.user_unknown", "text.mailbox_full"]


def test_past_its_limit_the_memo_keeps_the_verdicts_of_the_combinations_it_is_asked_for(monkeypatch):
    """A chunk mixing combinations seen before and new ones, right when the memo starts over: every row
    keeps its verdict (the memo used to restart with the new ones only and the known rows got nulls)."""
    monkeypatch.setattr(classify, "MEMO_LIMIT", 1)
    rules = RuleSet(builtin_rules())
    classify_frame(frame_of([("5.1.1", "bounced", "user unknown"), (None, None, "550 zzz")]), rules=rules)
    mixed = classify_frame(frame_of([("5.1.1", "bounced", "user unknown"), (None, None, "451 zzz")]), rules=rules)
    assert mixed.select("qualification", "rule").rows() == [("hard", "text.user_unknown"), ("soft", "reply.451")]
    assert rules.memo["verdicts"].height == 2


def test_the_dsn_the_rules_read_is_the_columns_else_the_texts_and_never_a_bare_class():
    assert explain("5.1.1", "bounced", "550 5.2.2 zzz")["dsn"] == "5.1.1"
    assert explain("5.0.0", "bounced", "550 5.2.2 zzz")["dsn"] == "5.2.2"
    assert explain(None, None, "550 5.2.2 zzz")["dsn"] == "5.2.2"
    assert explain("5.0.0", "bounced", "zzz")["dsn"] is None
    assert explain(None, None, "550 5.0.0 zzz")["dsn"] is None


def test_explain_says_whether_a_temporary_sign_was_seen():
    assert explain(None, None, "451 zzz")["temporary"] is True
    assert explain("4.7.1", "bounced", "zzz")["temporary"] is True
    assert explain(None, "bounced", "550 zzz")["temporary"] is False


def test_a_local_rule_on_final_statuses_is_qualified_by_the_status_success_or_expired_hard():
    """A rule naming `sent` or `expired` with a pattern makes those lines read their text; without a
    qualification of its own the rule is then qualified by the status: sent is success, expired is hard
    even when its last reply was a 4xx (the final outcome, not the cause)."""
    sent = local(status="sent", pattern="queued as", reason="delivered")
    assert verdict(None, "sent", "250 2.0.0 Ok: queued as 4A1B2C3D4E", sent)["qualification"] == "success"
    assert verdict(None, "SENT", "250 2.0.0 Ok: queued as 4A1B2C3D4E", sent)["rule"] == "local:r"
    # the status decides, not a 2xx code in the text nor the reason's bare-text default
    bare = local(status="delivered", pattern="zzz", reason="other")
    assert verdict(None, "delivered", "zzz", bare)["qualification"] == "success"
    expired = local(status="expired", pattern="connection timed out", reason="network")
    result = verdict("4.4.1", "expired", "451 connection timed out", expired)
    assert (result["qualification"], result["reason"], result["rule"]) == ("hard", "network", "local:r")
