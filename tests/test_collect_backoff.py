"""Retry back-off of the collectors."""

from ingest.backoff import Backoff


def test_backoff_stays_at_its_ceiling_after_thousands_of_failures() -> None:
    backoff = Backoff(1.0, 300.0, seed=1)
    delays = [backoff.next() for _ in range(5000)]
    assert max(delays) <= 300.0 * 1.2
    assert delays[-1] >= 300.0 * 0.8


def test_backoff_doubles_then_resets() -> None:
    backoff = Backoff(1.0, 300.0, seed=1)
    first, second, third = (backoff.next() for _ in range(3))
    assert 0.8 <= first <= 1.2 and 1.6 <= second <= 2.4 and 3.2 <= third <= 4.8
    backoff.reset()
    assert backoff.next() <= 1.2
