import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yulan.guide.hours import HoursError, Interval, format_hours, is_open, parse_hours

MONDAY = datetime.date(2026, 11, 23)


def at(day: datetime.date, hh: int, mm: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hh, mm))


def test_it_reads_day_ranges_lists_and_several_intervals():
    parsed = parse_hours("Mon-Fri 09:00-12:00, 13:00-17:30\nSat,Sun 10:00-16:00")
    days = sorted({d for d, _ in parsed.weekly})
    assert days == [0, 1, 2, 3, 4, 5, 6]
    assert len([1 for d, _ in parsed.weekly if d == 0]) == 2


def test_it_reads_exceptions_closed_or_with_other_hours():
    parsed = parse_hours("2026-10-01 closed\n2026-12-24 10:00-14:00")
    assert parsed.exceptions[0] == (datetime.date(2026, 10, 1), None)
    assert parsed.exceptions[1][1] == Interval(datetime.time(10), datetime.time(14))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Mon-Fri 9-5", "Line 1"),
        ("Funday 09:00-17:00", "unknown day"),
        ("Mon 17:00-09:00", "closing time"),
        ("Mon 24:30-24:45", "not a valid time"),
        ("Mon 25:00-26:00", "not a time range"),
        ("2026-02-30 closed", "not a date"),
        ("Mon", "Line 1"),
        ("Mon 09:00-17:00\nTue nine", "Line 2"),
    ],
)
def test_malformed_lines_are_named_in_the_error(text, fragment):
    with pytest.raises(HoursError) as exc:
        parse_hours(text)
    assert fragment in str(exc.value)


def test_open_now_follows_the_weekly_hours():
    parsed = parse_hours("Mon-Fri 09:00-17:00")
    assert is_open(parsed.weekly, parsed.exceptions, at(MONDAY, 9))
    assert not is_open(parsed.weekly, parsed.exceptions, at(MONDAY, 17))
    assert not is_open(parsed.weekly, parsed.exceptions, at(MONDAY + datetime.timedelta(days=5), 10))


def test_an_exception_day_replaces_the_weekly_hours():
    parsed = parse_hours(f"Mon-Fri 09:00-17:00\n{MONDAY.isoformat()} closed")
    assert not is_open(parsed.weekly, parsed.exceptions, at(MONDAY, 10))
    parsed = parse_hours(f"Sat 10:00-12:00\n{MONDAY.isoformat()} 18:00-20:00")
    assert is_open(parsed.weekly, parsed.exceptions, at(MONDAY, 19))


def test_closing_at_midnight_is_written_24_00():
    parsed = parse_hours("Fri 18:00-24:00")
    assert is_open(parsed.weekly, parsed.exceptions, at(MONDAY + datetime.timedelta(days=4), 23, 59))
    assert "18:00-24:00" in format_hours(parsed.weekly, parsed.exceptions)


@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 22), st.integers(1, 60)),
        min_size=1,
        max_size=8,
    )
)
def test_formatted_hours_read_back_the_same(rules):
    weekly = []
    for day, hour, length in rules:
        opens = datetime.time(hour, 0)
        end = min(hour * 60 + length, 23 * 60 + 59)
        weekly.append((day, Interval(opens, datetime.time(end // 60, end % 60))))
    text = format_hours(weekly, [])
    again = parse_hours(text)
    assert sorted((d, iv.opens, iv.closes) for d, iv in again.weekly) == sorted(
        (d, iv.opens, iv.closes) for d, iv in weekly
    )
