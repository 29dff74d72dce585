"""The public parse corpus (tests/data/parse_corpus) and how warehouse.parse_eval scores it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from warehouse import parse_eval
from warehouse.parse_eval import FIELDS, Case, load_corpus, load_tsv, score, split_of

DATA = Path(__file__).parent / "data"
CORPUS = load_corpus(DATA / "parse_corpus")
HELDOUT = [case for case in CORPUS if case.split == "heldout"]


def test_corpus_has_300_heldout_lines_from_at_least_4_sources():
    assert len(HELDOUT) >= 300
    assert len({case.source for case in HELDOUT}) >= 4
    assert len({case.line for case in CORPUS}) == len(CORPUS)


def test_every_corpus_line_names_its_source_and_states_known_fields():
    for path in (DATA / "parse_corpus").glob("*.jsonl"):
        for text in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(text)
            assert record["source"] and record["expected_by"] in ("source", "relaywatch"), record
            assert set(record["expected"]) <= set(FIELDS), record


def test_split_is_fixed_by_the_line_and_keeps_about_a_third_for_dev():
    assert split_of("Nov 24 15:53:08 gw postfix/qmgr[9]: 3F2A1B0C9D: removed") == split_of(
        "Nov 24 15:53:08 gw postfix/qmgr[9]: 3F2A1B0C9D: removed"
    )
    dev = sum(case.split == "dev" for case in CORPUS)
    assert 0.25 < dev / len(CORPUS) < 0.42


def test_score_counts_stated_fields_and_unrecognised_lines():
    removed = "Nov 24 15:53:08 gw postfix/qmgr[9]: 3F2A1B0C9D: removed"
    cases = [
        Case(removed, {"queue_id": "3F2A1B0C9D", "pid": 9}, "t", "dev"),
        Case(removed, {"host": "other"}, "t", "dev"),
        Case(
            "Nov 24 15:53:08 gw postfix/smtpd[1]: something new",
            {"service": "smtpd", "client_ip": "1.2.3.4"},
            "t",
            "dev",
        ),
    ]
    result = score(cases)
    assert (result.lines, result.recognised, result.fields, result.correct) == (3, 2, 5, 3)
    assert result.field_accuracy == pytest.approx(0.6) and result.recognition == pytest.approx(2 / 3)
    assert [(miss.field, miss.actual) for miss in result.misses] == [("host", "gw"), ("client_ip", None)]
    assert result.unrecognised == ("Nov 24 15:53:08 gw postfix/smtpd[1]: something new",)


def test_strings_compare_without_surrounding_blanks_and_numbers_within_rounding():
    assert parse_eval._same("text ", "text") and parse_eval._same(0.1 + 0.2, 0.3)
    assert not parse_eval._same(None, "") and not parse_eval._same("1", 1)


def test_tsv_cases_keep_only_scored_fields():
    cases = load_tsv(DATA / "postfix_lines.tsv")
    assert len(cases) >= 150
    assert all(set(case.expected) <= set(FIELDS) for case in cases)


def test_heldout_lines_are_read_with_97_percent_field_accuracy_and_recognition():
    result = score(HELDOUT)
    assert result.field_accuracy >= 0.97, result
    assert result.recognition >= 0.97, result


def test_data_file_lines_keep_97_percent_field_accuracy():
    assert score(load_tsv(DATA / "postfix_lines.tsv")).field_accuracy >= 0.97


def test_command_line_reports_each_part_and_lists_only_dev_misses(capsys):
    assert parse_eval.main([str(DATA / "parse_corpus"), "--split", "heldout", "--misses"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("heldout ") and not any(line.startswith("dev ") for line in out)
    heldout = {case.line for case in HELDOUT}
    listed = [line.strip() for line in out if line.startswith(("     ", "UNRECOGNISED "))]
    assert not heldout & {line.removeprefix("UNRECOGNISED ") for line in listed}
