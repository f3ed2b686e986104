"""Opening hours: a small text format staff can type, parsed with line-by-line errors, and the
"open now" test.

Weekly lines:     Mon-Fri 09:00-17:00        Sat,Sun 10:00-12:00, 13:00-16:00
Exception lines:  2026-10-01 closed          2026-12-24 10:00-14:00
"""

import datetime
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

DAYS = ["mo", "tu", "we", "th", "fr", "sa", "su"]
_DAY_ALIASES = {d: i for i, d in enumerate(DAYS)} | {
    name: i for i, name in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
}
_TIME = r"([01]?\d|2[0-4]):([0-5]\d)"
_INTERVAL = re.compile(rf"^{_TIME}\s*-\s*{_TIME}$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s+(.+)$")
MAX_LINES = 60


class HoursError(ValueError):
    pass


@dataclass
class Interval:
    opens: datetime.time
    closes: datetime.time  # 00:00 as a closing time means midnight


@dataclass
class ParsedHours:
    weekly: list[tuple[int, Interval]] = field(default_factory=list)
    exceptions: list[tuple[datetime.date, Interval | None]] = field(default_factory=list)


def _parse_time(hours: str, minutes: str) -> datetime.time:
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return datetime.time(0, 0)
    if h > 23:
        raise HoursError
    return datetime.time(h, m)


def _parse_intervals(text: str, line_no: int) -> list[Interval]:
    intervals = []
    for part in text.split(","):
        match = _INTERVAL.match(part.strip())
        if not match:
            raise HoursError(
                _("Line %(line)d: “%(text)s” is not a time range like 09:00-17:00.")
                % {"line": line_no, "text": part.strip()}
            )
        try:
            opens = _parse_time(match.group(1), match.group(2))
            closes = _parse_time(match.group(3), match.group(4))
        except HoursError:
            raise HoursError(
                _("Line %(line)d: “%(text)s” is not a valid time.") % {"line": line_no, "text": part.strip()}
            ) from None
        if closes != datetime.time(0, 0) and closes <= opens:
            raise HoursError(_("Line %(line)d: the closing time must be after the opening time.") % {"line": line_no})
        intervals.append(Interval(opens, closes))
    return intervals


def _parse_days(text: str, line_no: int) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        part = part.strip()
        if "-" in part:
            first, _sep, last = part.partition("-")
            if first.strip() not in _DAY_ALIASES or last.strip() not in _DAY_ALIASES:
                raise HoursError(_("Line %(line)d: unknown day “%(text)s”.") % {"line": line_no, "text": part})
            a, b = _DAY_ALIASES[first.strip()], _DAY_ALIASES[last.strip()]
            days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        elif part in _DAY_ALIASES:
            days.append(_DAY_ALIASES[part])
        else:
            raise HoursError(_("Line %(line)d: unknown day “%(text)s”.") % {"line": line_no, "text": part})
    return days


def parse_hours(text: str) -> ParsedHours:
    result = ParsedHours()
    lines = [line.strip() for line in text.splitlines()]
    if len([line for line in lines if line]) > MAX_LINES:
        raise HoursError(_("At most %(n)d lines of opening hours.") % {"n": MAX_LINES})
    for line_no, line in enumerate(lines, start=1):
        if not line:
            continue
        date_match = _DATE.match(line)
        if date_match:
            try:
                day = datetime.date.fromisoformat(date_match.group(1))
            except ValueError:
                raise HoursError(
                    _("Line %(line)d: “%(text)s” is not a date.") % {"line": line_no, "text": date_match.group(1)}
                ) from None
            rest = date_match.group(2).strip()
            if rest.lower() in {"closed", "off"}:
                result.exceptions.append((day, None))
            else:
                result.exceptions.extend((day, iv) for iv in _parse_intervals(rest, line_no))
            continue
        days_text, _sep, times_text = line.partition(" ")
        if not times_text.strip():
            raise HoursError(
                _("Line %(line)d: write the days, then the times, like “Mon-Fri 09:00-17:00”.") % {"line": line_no}
            )
        days = _parse_days(days_text, line_no)
        if times_text.strip().lower() in {"closed", "off"}:
            continue
        intervals = _parse_intervals(times_text, line_no)
        result.weekly.extend((d, iv) for d in days for iv in intervals)
    return result


def _fmt(t: datetime.time) -> str:
    return "24:00" if t == datetime.time(0, 0) else t.strftime("%H:%M")


def format_hours(weekly: list[tuple[int, Interval]], exceptions: list[tuple[datetime.date, Interval | None]]) -> str:
    """The text form of stored hours, so a staff form shows what was saved."""
    by_day: dict[int, list[str]] = {}
    for day, iv in weekly:
        by_day.setdefault(day, []).append(f"{_fmt(iv.opens)}-{_fmt(iv.closes)}")
    lines = [f"{DAYS[d].title()} {', '.join(ranges)}" for d, ranges in sorted(by_day.items())]
    for date, ex in exceptions:
        lines.append(f"{date.isoformat()} " + ("closed" if ex is None else f"{_fmt(ex.opens)}-{_fmt(ex.closes)}"))
    return "\n".join(lines)


def _inside(iv: Interval, t: datetime.time) -> bool:
    if iv.closes == datetime.time(0, 0):
        return t >= iv.opens
    return iv.opens <= t < iv.closes


def is_open(
    weekly: list[tuple[int, Interval]],
    exceptions: list[tuple[datetime.date, Interval | None]],
    at: datetime.datetime,
) -> bool:
    """Open at local time `at`? An exception for the day replaces the weekly hours."""
    today = [ex for date, ex in exceptions if date == at.date()]
    t = at.time()
    if today:
        return any(ex is not None and _inside(ex, t) for ex in today)
    return any(day == at.weekday() and _inside(iv, t) for day, iv in weekly)
