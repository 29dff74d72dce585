"""Precedence of the classifier: which evidence decides a qualification when several disagree.

The ladder in `_match`: a success status, then `expired`, then any temporary sign (status, DSN column,
DSN in the text, 4xx reply), then any permanent sign, then an accepted 2xx code, and last the rule's
reason on its own (a bare text). A rule's own qualification wins over the ladder, except that a 4xx is
never hard. Each case below pits two rungs against each other, so swapping them fails a case.
"""

from __future__ import annotations

import polars as pl
import pytest

from warehouse.classify import OUTPUT_COLUMNS, classify_frame


def verdict(dsn: str | None, status: str | None, text: str | None) -> dict:
    frame = pl.DataFrame(
        {"dsn": [dsn], "status": [status], "response": [text]},
        schema={"dsn": pl.String, "status": pl.String, "response": pl.String},
    )
    return classify_frame(frame).select(OUTPUT_COLUMNS).row(0, named=True)


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
