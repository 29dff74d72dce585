"""Behaviour of the bounce classifier: rule precedence, local rules, contracts, invariants, accuracy."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import polars as pl
import pytest
from deltalake import write_deltalake
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from relaywatch.core import ClassifySection, ConfigError, parse_config
from warehouse.classify import (
    OUTPUT_COLUMNS,
    ClassifyInputError,
    RuleSet,
    classify,
    classify_cause,
    classify_frame,
    explain,
    load_rules,
)
from warehouse.evaluation import (
    FINER_THAN_SISIMAI,
    SISIMAI_TO_OURS,
    agrees_with_sisimai,
    evaluate,
    evaluate_reference,
    format_report,
)
from warehouse.lake import Lake
from warehouse.reclassification import format_stats, reclassify
from warehouse.ruletable import QUALIFICATIONS, REASONS, SUPPRESSIBLE_REASONS, TIERS, RuleError

LABELLED = Path(__file__).parent / "data" / "bounces.jsonl"
GMAIL_NO_SUCH_USER = (
    "host gmail-smtp-in.l.google.com[142.250.102.27] said: 550-5.1.1 The email account that you tried to "
    "reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or "
    "550-5.1.1 unnecessary spaces. Learn more at 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser "
    "a640c23a62f3a-a9a3c6c4a27si123456966b.123 - gsmtp (in reply to RCPT TO command)"
)
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one(dsn: str | None, status: str | None, text: str | None, **kwargs) -> dict:
    frame = pl.DataFrame(
        {"dsn": [dsn], "status": [status], "response": [text]},
        schema={"dsn": pl.String, "status": pl.String, "response": pl.String},
    )
    return classify_frame(frame, **kwargs).select(OUTPUT_COLUMNS).row(0, named=True)


def local_rules(body: str) -> ClassifySection:
    """The [classify] section of a relaywatch.toml body, as the configuration model hands it over."""
    return parse_config(tomllib.loads(body)).classify


# ---------------------------------------------------------------------------------------- accuracy


def test_labelled_set_accuracy_is_at_least_95_percent():
    report = evaluate(LABELLED)
    assert report.total >= 300
    assert report.accuracy >= 0.95, format_report(report)


def test_no_frequent_reason_has_recall_below_85_percent():
    report = evaluate(LABELLED)
    weak = [(s.reason, round(s.recall, 3)) for s in report.reasons if s.support >= 10 and s.recall < 0.85]
    assert weak == [], format_report(report)


def test_labelled_set_cites_a_source_for_every_line():
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert record["source"] and record["ref"]
        assert record["qualification"] in QUALIFICATIONS and record["reason"] in REASONS


def test_format_report_shows_accuracy_and_per_reason_table():
    text = format_report(evaluate(LABELLED))
    assert "accuracy" in text and "precision" in text and "recall" in text and "user_unknown" in text


# -------------------------------------------------------------------------------------- precedence


def test_rules_are_ordered_local_provider_text_dsn_reply_status():
    config = local_rules('[[classify.rules]]\nid = "x"\npattern = "zzz"\nreason = "other"\n')
    tiers = [rule.tier for rule in load_rules(config).rules]
    assert tiers == sorted(tiers, key=TIERS.index)
    assert tiers[0] == "local" and set(tiers) == set(TIERS)


def test_provider_rule_beats_text_rule():
    result = one("5.2.1", "bounced", "550 5.2.1 The email account that you tried to reach is disabled. - gsmtp")
    assert result == {
        "qualification": "hard",
        "reason": "mailbox_disabled",
        "suppressible": True,
        "rule": "google.mailbox_disabled",
    }


def test_text_rule_beats_enhanced_code():
    # OVH answers "over quota" with a misleading 5.1.1: the text decides.
    result = one("5.1.1", "bounced", "550 sorry, user over quota [mx1] (#5.1.1) (in reply to RCPT TO command)")
    assert result["reason"] == "mailbox_full"
    assert result["rule"] in ("ovh.mailbox_full", "text.mailbox_full")
    assert one("5.1.1", "bounced", "550 5.1.1 Mailbox full")["rule"] == "text.mailbox_full"


def test_enhanced_code_beats_reply_code():
    assert one("5.2.2", "bounced", "552 sorry")["rule"] == "dsn.5.2.2"


def test_reply_code_beats_status():
    result = one(None, "deferred", "host mx.example.net[192.0.2.1] said: 452 sorry (in reply to RCPT TO command)")
    assert result["rule"] == "reply.452" and result["qualification"] == "soft"


def test_status_decides_when_nothing_else_does():
    assert one(None, "bounced", None) == {
        "qualification": "hard",
        "reason": "other",
        "suppressible": False,
        "rule": "status.bounced",
    }
    assert one(None, None, None) == {
        "qualification": "unknown",
        "reason": "other",
        "suppressible": False,
        "rule": "none",
    }


def test_generic_x00_dsn_defers_to_the_reply_code():
    # Postfix writes 4.0.0/5.0.0 when the server gave no enhanced code.
    result = one("4.0.0", "deferred", "host mx.example.net[192.0.2.1] said: 451 sorry (in reply to DATA command)")
    assert (result["rule"], result["reason"]) == ("reply.451", "remote_error")
    assert one("5.0.0", "bounced", "554 nope")["rule"] == "reply.5xx"


def test_sent_is_success_delivered_whatever_the_text():
    result = one("2.0.0", "sent", "250 2.0.0 Ok: queued as 4Sy3kL09zZz10A user unknown")
    assert result == {"qualification": "success", "reason": "delivered", "suppressible": False, "rule": "status.sent"}


def test_expired_is_hard_expired_even_with_a_temporary_dsn():
    assert one("4.4.1", "expired", "returned to sender") == {
        "qualification": "hard",
        "reason": "expired",
        "suppressible": False,
        "rule": "status.expired",
    }


def test_an_expired_delivery_keeps_its_verdict_and_gets_the_cause_of_its_last_deferral():
    frame = pl.DataFrame(
        {
            "dsn": ["4.4.1", None],
            "status": ["expired", "expired"],
            "response": ["returned to sender", None],
            "cause_dsn": ["4.4.1", None],
            "cause_response": ["connect to mx.example.net[192.0.2.1]:25: Connection timed out", None],
        }
    )
    result = classify_cause(classify_frame(frame))
    assert result["reason"].to_list() == ["expired", "expired"]
    assert result["cause_reason"].to_list() == ["network", None]


def test_deferred_user_unknown_is_soft_and_not_suppressible():
    result = one("4.1.1", "deferred", "450 4.1.1 <a@example.com>: Recipient address rejected: User unknown")
    assert result["reason"] == "user_unknown" and result["qualification"] == "soft"
    assert result["suppressible"] is False


def test_postfix_softbounce_of_a_5xx_stays_soft():
    result = one("4.0.0", "SOFTBOUNCE", "host smtp.example.net[192.0.2.1] said: 550 #5.1.0 Address rejected")
    assert result["qualification"] == "soft" and result["reason"] == "user_unknown"


# ------------------------------------------------------------------------------------- local rules


def test_local_rule_takes_precedence_and_is_named_local():
    config = local_rules(
        """
[[classify.rules]]
id = "myisp-block"
pattern = "email account that you tried to reach does not exist"
qualification = "soft"
reason = "reputation"
""",
    )
    result = one("5.1.1", "bounced", GMAIL_NO_SUCH_USER, rules=load_rules(config))
    assert result == {
        "qualification": "soft",
        "reason": "reputation",
        "suppressible": False,
        "rule": "local:myisp-block",
    }
    assert one("5.1.1", "bounced", GMAIL_NO_SUCH_USER)["rule"] == "google.user_unknown"


def test_local_rule_never_makes_a_4xx_hard():
    config = local_rules(
        '[[classify.rules]]\nid = "strict"\npattern = "greylist"\nqualification = "hard"\nreason = "policy"\n'
    )
    result = one("4.7.1", "deferred", "451 4.7.1 Greylisted", rules=load_rules(config))
    assert result["rule"] == "local:strict" and result["qualification"] == "soft"


def test_local_rule_can_use_code_and_status_conditions():
    config = local_rules(
        '[[classify.rules]]\nid = "busy"\ncode = "421"\nstatus = "deferred"\nreason = "rate_limited"\n'
    )
    result = one(None, "deferred", "421 go away", rules=load_rules(config))
    assert result == {"qualification": "soft", "reason": "rate_limited", "suppressible": False, "rule": "local:busy"}


def test_an_empty_classify_section_means_no_local_rules():
    assert load_rules(ClassifySection()).rules == load_rules(None).rules


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('id = "bad-one"\npattern = "(unclosed"\nreason = "other"', "local rule 'bad-one': invalid regex"),
        ('id = "ahead"\npattern = "user(?= unknown)"\nreason = "other"', "local rule 'ahead': invalid regex"),
        ('id = "r"\npattern = "x"\nreason = "bogus"', "local rule 'r': unknown reason 'bogus'"),
        ('id = "q"\npattern = "x"\nreason = "other"\nqualification = "maybe"', "local rule 'q': unknown qualification"),
        ('id = "d"\ndsn = "6.1.1"\nreason = "other"', "local rule 'd': invalid dsn condition"),
        ('id = "c"\ncode = "99"\nreason = "other"', "local rule 'c': invalid code condition"),
        ('id = "k"\npatern = "x"\nreason = "other"', "local rule 'k': unknown key(s) patern"),
        ('id = "e"\nreason = "other"', "local rule 'e': needs at least one of"),
    ],
)
def test_invalid_local_rule_is_a_clear_error_naming_the_rule(body, message):
    config = local_rules("[[classify.rules]]\n" + body + "\n")
    with pytest.raises(RuleError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        load_rules(config)


def test_duplicate_local_rule_ids_are_rejected():
    body = '[[classify.rules]]\nid = "a"\npattern = "x"\nreason = "other"\n' * 2
    with pytest.raises(RuleError, match="'local:a': duplicate id"):
        load_rules(local_rules(body))


def test_a_local_rule_that_is_not_a_table_is_refused_by_the_config_model():
    with pytest.raises(ConfigError, match=r"classify\.rules\[0\]: expected a table"):
        local_rules('[classify]\nrules = ["x"]\n')


# ------------------------------------------------------------------------------------ frame contract


def test_classify_frame_keeps_height_order_and_other_columns():
    frame = pl.DataFrame(
        {
            "queue_id": ["A", "B", "C", "D"],
            "dsn": ["5.1.1", "2.0.0", None, "4.4.1"],
            "status": ["bounced", "sent", "expired", "deferred"],
            "response": [
                GMAIL_NO_SUCH_USER,
                "250 2.0.0 Ok: queued as 8170A4D23E6F",
                None,
                "connect to mx.example.net[192.0.2.1]:25: Connection timed out",
            ],
        }
    )
    result = classify_frame(frame)
    assert result.columns == [*frame.columns, *OUTPUT_COLUMNS]
    assert result["queue_id"].to_list() == ["A", "B", "C", "D"]
    assert result["reason"].to_list() == ["user_unknown", "delivered", "expired", "network"]
    assert result["qualification"].to_list() == ["hard", "success", "hard", "soft"]
    assert result.schema["suppressible"] == pl.Boolean


def test_classify_frame_accepts_empty_frames_and_missing_columns():
    empty = pl.DataFrame(schema={"dsn": pl.String, "status": pl.String, "response": pl.String})
    assert classify_frame(empty).columns == [*empty.columns, *OUTPUT_COLUMNS]
    only_text = classify_frame(pl.DataFrame({"response": ["550 5.1.1 User unknown"]}))
    assert only_text["reason"].to_list() == ["user_unknown"]


def test_volatile_parts_do_not_change_the_normalised_text():
    first = explain("5.1.1", "bounced", GMAIL_NO_SUCH_USER)
    second = explain(
        "5.1.1",
        "bounced",
        GMAIL_NO_SUCH_USER.replace("142.250.102.27", "74.125.1.2").replace(
            "a640c23a62f3a-a9a3c6c4a27si123456966b.123", "x12si98765432abc.7"
        ),
    )
    assert first["normalised_text"] == second["normalised_text"]
    assert "142.250" not in first["normalised_text"] and "5.1.1" in first["normalised_text"]


def test_many_deliveries_collapse_to_few_distinct_combinations():
    texts = [
        f"host mx{i % 7}.d{i}.example[10.0.{i % 250}.{i % 200}] said: 550 5.1.1 <u{i}@d{i}.example>: "
        f"Recipient address rejected: User unknown in virtual alias table (in reply to RCPT TO command)"
        for i in range(2000)
    ]
    frame = pl.DataFrame({"dsn": ["5.1.1"] * 2000, "status": ["bounced"] * 2000, "response": texts})
    assert classify_frame(frame)["rule"].unique().to_list() == ["text.user_unknown"]
    assert len({explain("5.1.1", "bounced", t)["normalised_text"] for t in texts[:50]}) == 1


def test_explain_names_the_rule_and_its_pattern():
    details = explain("5.1.1", "bounced", GMAIL_NO_SUCH_USER)
    assert details["rule"] == "google.user_unknown" and details["tier"] == "provider"
    assert "does not exist" in details["pattern"]
    assert details["dsn"] == "5.1.1" and details["reply_code"] == 550


# ---------------------------------------------------------------------------------- JSON Lines API


def test_classify_json_lines_preserves_order_and_emits_the_contract_keys():
    lines = [
        json.dumps({"dsn": "5.1.1", "status": "bounced", "text": GMAIL_NO_SUCH_USER}),
        json.dumps({"status": "sent"}),
        "",
        json.dumps({"text": "451 4.7.1 Greylisted, try again later"}),
        json.dumps(
            {"dsn": "4.4.1", "status": "deferred", "response": "connect to x[192.0.2.1]:25: Connection refused"}
        ),
    ]
    out = [json.loads(line) for line in classify(lines, batch_size=2)]
    assert [set(o) for o in out] == [{"qualification", "reason", "suppressible", "rule"}] * 4
    assert [o["reason"] for o in out] == ["user_unknown", "delivered", "greylisted", "network"]
    assert out[0]["suppressible"] is True


def test_bad_json_line_is_a_clear_error_naming_the_line():
    lines = [json.dumps({"text": "ok"}), "{not json", json.dumps({"text": "ok"})]
    with pytest.raises(ClassifyInputError, match="^line 2: invalid JSON"):
        list(classify(lines))


@pytest.mark.parametrize("line", ['["a list"]', '{"dsn": 5}'])
def test_non_object_or_non_string_fields_are_rejected(line):
    with pytest.raises(ClassifyInputError, match="^line 1: "):
        list(classify([line]))


def test_classify_applies_local_rules_from_the_config():
    config = local_rules('[[classify.rules]]\nid = "mine"\npattern = "hello"\nreason = "policy"\n')
    out = json.loads(next(classify([json.dumps({"text": "550 hello"})], local=config)))
    assert out["rule"] == "local:mine"


# ------------------------------------------------------------------------------------------ properties

reply_text = st.text(max_size=120)
statuses = st.sampled_from([None, "", "sent", "deferred", "bounced", "expired", "softbounce", "weird"])
dsns = st.one_of(st.none(), st.text(max_size=12), st.from_regex(r"[245]\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True))


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(dsns, statuses, st.one_of(st.none(), reply_text)), min_size=1, max_size=40))
def test_any_input_classifies_without_error(rows):
    frame = pl.DataFrame(
        [{"dsn": d, "status": s, "response": t} for d, s, t in rows],
        schema={"dsn": pl.String, "status": pl.String, "response": pl.String},
    )
    result = classify_frame(frame)
    assert result.height == len(rows)
    assert set(result["qualification"].to_list()) <= set(QUALIFICATIONS)
    assert set(result["reason"].to_list()) <= set(REASONS)
    assert result["rule"].null_count() == 0


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(st.integers(400, 499), reply_text, st.sampled_from([None, "bounced", "deferred", "weird"])),
        min_size=1,
        max_size=40,
    )
)
def test_a_4xx_reply_is_never_hard(rows):
    frame = pl.DataFrame(
        {
            "dsn": [None] * len(rows),
            "status": [s for _, _, s in rows],
            "response": [f"{code} {text}" for code, text, _ in rows],
        },
        schema={"dsn": pl.String, "status": pl.String, "response": pl.String},
    )
    assert "hard" not in classify_frame(frame)["qualification"].to_list()


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"4\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True),
            reply_text,
            st.sampled_from([None, "bounced", "deferred", "weird"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_a_4xx_dsn_or_deferred_status_is_never_hard(rows):
    frame = pl.DataFrame(
        {"dsn": [d for d, _, _ in rows], "status": [s for _, _, s in rows], "response": [t for _, t, _ in rows]}
    )
    deferred = frame.with_columns(dsn=pl.lit(None, pl.String), status=pl.lit("deferred"))
    for candidate in (frame, deferred):
        assert "hard" not in classify_frame(candidate)["qualification"].to_list()


@PROPERTY_SETTINGS
@given(st.lists(st.tuples(dsns, statuses, reply_text), min_size=1, max_size=40))
def test_suppressible_only_for_bad_addresses_and_complaints(rows):
    frame = pl.DataFrame(
        [{"dsn": d, "status": s, "response": t} for d, s, t in rows],
        schema={"dsn": pl.String, "status": pl.String, "response": pl.String},
    )
    flagged = classify_frame(frame).filter(pl.col("suppressible"))
    assert set(flagged["reason"].to_list()) <= SUPPRESSIBLE_REASONS
    assert set(flagged["qualification"].to_list()) <= {"hard"}


def test_suppressible_reasons_are_flagged_on_hard_lines():
    texts = {
        "user_unknown": ("5.1.1", "550 5.1.1 User unknown"),
        "domain_not_found": (
            "5.4.4",
            "Host or domain name not found. Name service error for name=x.invalid type=A: Host not found",
        ),
        "mailbox_disabled": ("5.2.1", "550 5.2.1 Mailbox disabled, not accepting messages"),
    }
    for reason, (dsn, text) in texts.items():
        result = one(dsn, "bounced", text)
        assert (result["reason"], result["suppressible"]) == (reason, True)
    assert one(None, "complaint", None) == {
        "qualification": "hard",
        "reason": "complaint",
        "suppressible": True,
        "rule": "status.complaint",
    }
    assert one(None, None, "Feedback-Type: abuse")["rule"] == "text.complaint"


def test_builtin_rule_ids_name_their_tier():
    prefixes = {"text": "text.", "dsn": "dsn.", "reply": "reply.", "status": "status."}
    for rule in load_rules(None).rules:
        if rule.tier == "provider":
            assert rule.name.startswith(rule.provider + "."), rule.name
        else:
            assert rule.name.startswith(prefixes[rule.tier]), rule.name


def test_a_rule_set_remembers_verdicts_and_gives_the_same_answer_twice():
    from warehouse.classify import RuleSet

    rules = RuleSet(load_rules().rules)
    frame = pl.DataFrame(
        {
            "dsn": ["5.1.1", "4.7.0", "2.0.0", None],
            "status": ["bounced", "deferred", "sent", "deferred"],
            "response": ["550 5.1.1 user unknown", "421 4.7.0 [TSS04] try later", "250 ok", "connect to x: timed out"],
        }
    )
    first = classify_frame(frame, rules=rules)
    remembered = rules.memo["verdicts"].height
    second = classify_frame(frame, rules=rules)
    assert first.equals(second)
    assert rules.memo["verdicts"].height == remembered
    assert first.equals(classify_frame(frame, rules=RuleSet(load_rules().rules)))


# ------------------------------------------------------------------------------ Sisimai reference

SISIMAI_DEV = LABELLED.with_name("bounces_sisimai_dev.jsonl")
SISIMAI_HELDOUT = LABELLED.with_name("bounces_sisimai_heldout.jsonl")


@pytest.mark.parametrize("path", [SISIMAI_DEV, SISIMAI_HELDOUT])
def test_sisimai_sets_cite_a_source_and_a_known_reason_for_every_line(path):
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert record["source"] and record["text"]
        assert record["sisimai_reason"] in SISIMAI_TO_OURS
        assert record["reason"] == SISIMAI_TO_OURS[record["sisimai_reason"]]


def test_classify_evaluate_scores_a_sisimai_set_by_agreement():
    assert evaluate(SISIMAI_HELDOUT).accuracy == evaluate_reference(SISIMAI_HELDOUT).accuracy


def test_every_mapped_reason_is_one_of_ours():
    assert set(SISIMAI_TO_OURS.values()) <= set(REASONS)
    assert all(finer <= set(REASONS) for finer in FINER_THAN_SISIMAI.values())


def test_heldout_agreement_with_sisimai_does_not_fall_below_its_measured_level():
    # measured 0.889 on 550 held-out texts (README, Benchmarks); the target, 0.90 on 500, is not met
    report = evaluate_reference(SISIMAI_HELDOUT)
    assert report.total >= 550
    assert report.accuracy >= 0.88, format_report(report)
    other = sum(s.predicted for s in report.reasons if s.reason == "other")
    assert other / report.total < 0.05


def test_dev_agreement_with_sisimai_does_not_fall_below_its_measured_level():
    report = evaluate_reference(SISIMAI_DEV)
    assert report.accuracy >= 0.94, format_report(report)


def test_filtered_user_unknown_counts_as_agreement_but_policy_words_do_not_make_it_hard_user_unknown():
    assert agrees_with_sisimai("filtered", "user_unknown")
    assert not agrees_with_sisimai("userunknown", "policy")


# ------------------------------------------------------------------------------------ rule fixes


@pytest.mark.parametrize(
    "text",
    [
        "554 5.7.1 <a@example.com>: Recipient address rejected: blocked",
        "554 5.7.1 <a@example.com>: Recipient address rejected: Rejected by policy",
        "550 5.7.1 Mail from 192.0.2.1 blocked",
    ],
)
def test_a_5_7_1_blocked_or_rejected_is_not_user_unknown(text):
    assert one("5.7.1", "bounced", text)["reason"] == "policy"


@pytest.mark.parametrize(
    "text",
    [
        # Exchange Online directory-based edge blocking (bounces.jsonl line 70, and its AS(...) form)
        "550 5.4.1 [email@example.com]: Recipient address rejected: Access denied [example.com]",
        "550 5.7.1 <a@example.com>: Recipient address rejected: Access denied. AS(201806281) "
        "[DB5EUR01FT003.eop-EUR01.prod.protection.outlook.com]",
    ],
)
def test_microsoft_access_denied_forms_stay_user_unknown(text):
    assert one(None, "bounced", text)["rule"] == "microsoft.user_unknown"


@pytest.mark.parametrize(
    ("dsn", "text"),
    [
        ("4.4.1", "connect to mx.example.net[192.0.2.1]:25: Connection timed out"),
        ("5.4.1", "connect to mx.example.net[192.0.2.1]:25: Connection timed out"),
        ("4.4.2", "lost connection with mx.example.net[192.0.2.1] while sending RCPT TO"),
        ("4.4.2", "conversation with mx.example.net[192.0.2.1] timed out while receiving the initial server greeting"),
    ],
)
def test_network_errors_are_network(dsn, text):
    assert one(dsn, "bounced" if dsn.startswith("5") else "deferred", text)["reason"] == "network"


def test_a_mailbox_full_text_beats_a_5_1_1_code():
    assert one("5.1.1", "bounced", "550 5.1.1 <a@example.com>: mailbox is full")["reason"] == "mailbox_full"


def test_mailer_program_errors_are_remote_error_unless_they_say_quota():
    # flufl.bounce tests/data/postfix_01.txt (Sisimai: mailererror); bounces.jsonl line 127
    assert (
        one("4.0.0", "deferred", "temporary failure. Command output: /usr/bin/filter died")["reason"] == "remote_error"
    )
    quota = 'temporary failure. Command output: procmail: Quota exceeded while writing "/x/Maildir/tmp/1"'
    assert one("4.0.0", "deferred", quota)["reason"] == "mailbox_full"


def test_yahoo_style_no_account_text_is_user_unknown_whatever_the_domain():
    # flufl.bounce tests/data/simple_30.txt
    text = "This user doesn't have a sbcglobal.net account (userx@example.net) [-9]"
    assert one("5.0.0", "bounced", text)["reason"] == "user_unknown"


# ------------------------------------------------------------------------- properties on real texts

REAL = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
REAL_TEXTS = [(r.get("dsn"), r.get("status"), r["text"], r["reason"]) for r in REAL if r.get("text")]


def _mutate(text: str, data: st.DataObject) -> str:
    """Change what a real reply varies by without changing its meaning: case, ids, addresses, IPs."""
    ip = ".".join(str(data.draw(st.integers(1, 254))) for _ in range(4))
    user = data.draw(st.from_regex(r"[a-z]{3,10}", fullmatch=True))
    text = re.sub(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", ip, text)
    text = re.sub(r"[\w.+-]+@([\w-]+\.)+\w+", f"{user}@example.org", text)
    text = re.sub(r"\b[0-9A-F]{10,12}\b", data.draw(st.from_regex(r"[0-9A-F]{10,12}", fullmatch=True)), text)
    case = data.draw(st.sampled_from([str, str.lower, str.upper]))
    prefix = data.draw(st.sampled_from(["", f"host mx.example.org[{ip}] said: "]))
    suffix = data.draw(st.sampled_from(["", " (in reply to RCPT TO command)", " (in reply to end of DATA command)"]))
    # enhanced codes and provider codes keep their spelling: upper-casing them changes nothing
    return prefix + case(text) + suffix


@PROPERTY_SETTINGS
@given(st.data())
def test_real_texts_mutated_keep_their_reason(data):
    dsn, status, text, reason = data.draw(st.sampled_from(REAL_TEXTS))
    before = one(dsn, status, text)["reason"]
    assume(before == reason)
    assert one(dsn, status, _mutate(text, data))["reason"] == reason


@PROPERTY_SETTINGS
@given(st.sampled_from(REAL_TEXTS), st.sampled_from([None, "bounced", "deferred"]))
def test_a_4xx_real_text_is_never_hard(case, status):
    _, _, text, _ = case
    temporary = "450 4.0.0 " + re.sub(r"^[2-5][0-9][0-9][ -]([245]\.[0-9]+\.[0-9]+ )?", "", text)
    assert one(None, status, temporary)["qualification"] != "hard"


def test_provider_rule_beats_a_generic_text_rule_that_also_matches():
    # bounces.jsonl: Gmail's 4.7.28; the generic text rule alone would call it rate_limited
    text = (
        "421 4.7.28 [x.xx.xx.xx] Our system has detected an unusual rate of unsolicited mail originating from "
        "your IP address. To protect our users from spam, mail sent from your IP address has been temporarily "
        "rate limited. - gsmtp"
    )
    generic = RuleSet(tuple(r for r in load_rules(None).rules if r.tier != "provider"))
    assert one("4.7.28", "deferred", text, rules=generic)["rule"] == "text.rate_limited"
    assert one("4.7.28", "deferred", text)["rule"] == "google.reputation"


# ------------------------------------------------------------------------------------ reclassify


def test_reclassify_reports_how_many_deliveries_changed_reason_from_what_to_what(tmp_path):
    lake = Lake(tmp_path / "lake")
    stale = pl.DataFrame(
        {
            "dsn": ["5.7.1", "5.1.1", "2.0.0"],
            "status": ["bounced", "bounced", "sent"],
            "response": [
                "554 5.7.1 <a@example.com>: Recipient address rejected: blocked",
                "550 5.1.1 User unknown",
                "250 ok",
            ],
            "recipient_domain": ["example.com"] * 3,
            "relay": ["mx.example.com[192.0.2.1]:25"] * 3,
            "qualification": ["hard", "hard", "success"],
            "reason": ["user_unknown", "user_unknown", "delivered"],
            "suppressible": [True, True, False],
            "rule": ["text.user_unknown", "dsn.5.1.1", "status.sent"],
            "day": ["2026-11-24"] * 3,
        }
    )
    write_deltalake(lake.path("deliveries"), stale.to_arrow(), partition_by=["day"])
    stats = reclassify(lake)
    assert stats.reason_changes == {("user_unknown", "policy"): 1}
    assert "1 deliveries changed reason (user_unknown → policy: 1)" in format_stats(stats)
    assert "0 deliveries changed reason" in format_stats(reclassify(lake))
