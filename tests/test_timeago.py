"""How long ago things happened, as every list and thread shows it."""
from datetime import datetime, timedelta

import pytest

from wb.main.views import timeago, timetag

NOW = datetime(2026, 11, 21, 12, 0, 0)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    import wb.main.views

    monkeypatch.setattr(wb.main.views, "clock", lambda: (NOW - wb.main.views.EPOCH).total_seconds())


@pytest.mark.parametrize(
    "ago, text",
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(seconds=50), "1 min ago"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(hours=30), "yesterday"),
        (timedelta(days=3), "3 days ago"),
        (timedelta(days=9), "12 Nov 2026"),
        (timedelta(days=400), "17 Oct 2025"),
    ],
)
def test_timeago(ago, text):
    assert timeago(NOW - ago) == text


def test_timetag_gives_the_exact_utc_time_on_hover():
    tag = str(timetag(datetime(2026, 1, 5, 9, 7, 30, 1234)))
    assert tag == '<time datetime="2026-01-05T09:07:30.001234Z" title="2026-01-05 09:07 UTC">5 Jan 2026</time>'


def test_timetag_of_a_whole_minute():
    tag = str(timetag(datetime(2026, 11, 21, 11, 58)))
    assert tag == '<time datetime="2026-11-21T11:58:00Z" title="2026-11-21 11:58 UTC">2 min ago</time>'
