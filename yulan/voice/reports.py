"""Feedback reports: the figures of a period, worked out in the database, and the reports that
freeze them, kept private or shared with the city level and the other member communities.

`compute` reads only aggregates (a few GROUP BY queries with conditional counts, each serving
one or two breakdowns): it never walks the items one by one, so a city-wide year costs a handful
of scans whatever the number of items. The one exception is the median and 90th percentile of
response times on SQLite, which has no percentile function: there the sorted durations are read
and interpolated here (PostgreSQL uses `percentile_cont`).

Rights: a city-wide role (editor, administrator) reports on the whole city or any community; a
coordinator only on its own community. What a user may read is `reports_visible_to`."""

import datetime
import math
import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.html import strip_html
from yulan.core.models import Community, Office, User
from yulan.core.permissions import Perm, community_scope
from yulan.core.services import audit_record, snapshot
from yulan.voice.models import Category, Item, Report, StatusSpan, Tag

# The version of the figures' layout, kept in each frozen report.
DATA_VERSION = 1
PERIOD_MAX_YEARS = 3
# Periods this short are shown per day, then per week; longer ones per month.
DAILY_MAX_DAYS = 31
WEEKLY_MAX_DAYS = 92
TOP_THEMES = 10
TOP_CATEGORIES = 10
# The largest id a database column holds.
MAX_ID = 2**63 - 1
# Dates a period may start or end on (beyond them, adding a day or a time zone overflows).
FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(9000, 12, 31)

Status = Item.Status


# --- the period and the filters -----------------------------------------------------------------


def _day(value: Any, field: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = datetime.date.fromisoformat(value.strip())
        except ValueError:
            raise ApplicationError(_("Enter a date like 2026-01-31."), field=field) from None
    if not isinstance(value, datetime.date):
        raise ApplicationError(_("Enter a date like 2026-01-31."), field=field)
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ApplicationError(_("Enter a date between the years 1900 and 9000."), field=field)
    return value


def _years_later(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def clean_period(start: Any, end: Any) -> tuple[datetime.date, datetime.date]:
    """The period's first and last day (both included); ApplicationError naming the field."""
    first = _day(start, "start")
    last = _day(end, "end")
    if last < first:
        raise ApplicationError(_("The end of the period must not be before its start."), field="end")
    if last >= _years_later(first, PERIOD_MAX_YEARS):
        raise ApplicationError(
            _("A report covers at most %(years)d years: choose a later start or an earlier end.")
            % {"years": PERIOD_MAX_YEARS},
            field="end",
        )
    return first, last


def granularity(start: datetime.date, end: datetime.date) -> str:
    """How the trend is split: per day, week or month, by the period's length."""
    days = (end - start).days + 1
    if days <= DAILY_MAX_DAYS:
        return "day"
    if days <= WEEKLY_MAX_DAYS:
        return "week"
    return "month"


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The first moment of the period and the first moment after it, in the city's time zone."""
    zone = _zone()
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return since, until


def _existing(model: Any, pk: Any, field: str, message: Any) -> Any:
    if pk in (None, ""):
        return None
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise ApplicationError(message, field=field) from None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ApplicationError(message, field=field)
    return found


def _scope_objects(
    community_id: Any, office_id: Any, category_id: Any
) -> tuple[Community | None, Office | None, Category | None]:
    return (
        _existing(Community, community_id, "community", _("Choose one of the listed communities.")),
        _existing(Office, office_id, "office", _("Choose one of the listed offices.")),
        _existing(Category, category_id, "category", _("Choose one of the listed categories.")),
    )


def _item_filter(
    prefix: str,
    since: datetime.datetime,
    until: datetime.datetime,
    community: Community | None,
    office: Office | None,
    category: Category | None,
) -> Q:
    """The items of the report, as a filter; `prefix` reaches them from another table."""
    q = Q(**{f"{prefix}created_at__gte": since, f"{prefix}created_at__lt": until})
    if community is not None:
        q &= Q(**{f"{prefix}community_id": community.pk})
    if office is not None:
        q &= Q(**{f"{prefix}office_id": office.pk})
    if category is not None:
        q &= Q(**{f"{prefix}category_id": category.pk})
    return q


# --- percentiles ----------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(f) WITHIN GROUP (ORDER BY …)` over a duration, in seconds.
    Several of them over the same ordering share one sort."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM %(expressions)s))"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), output_field=FloatField(), **extra)


def _interpolated(ordered: list[float], fraction: float) -> float | None:
    """`percentile_cont`: linear interpolation between the two nearest ranks."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _response_wait() -> ExpressionWrapper:
    return ExpressionWrapper(F("first_response_at") - F("created_at"), output_field=DurationField())


def _response_percentiles(items: QuerySet[Item]) -> tuple[float | None, float | None]:
    """The median and 90th percentile of hours to the first response, of items answered."""
    answered = items.filter(first_response_at__isnull=False).order_by()
    if connections[answered.db].vendor == "postgresql":
        row = answered.aggregate(
            median=PercentileCont(_response_wait(), 0.5), p90=PercentileCont(_response_wait(), 0.9)
        )
        median, p90 = row["median"], row["p90"]
        return (
            None if median is None else median / 3600,
            None if p90 is None else p90 / 3600,
        )
    # Elsewhere (SQLite): the durations, sorted by the database, interpolated here.
    waits = answered.annotate(wait=_response_wait()).order_by("wait").values_list("wait", flat=True)
    hours = [wait.total_seconds() / 3600 for wait in waits]
    return _interpolated(hours, 0.5), _interpolated(hours, 0.9)


# --- the figures ----------------------------------------------------------------------------------


def _counts(now: datetime.datetime) -> dict[str, Any]:
    """Conditional counts read in the same pass as each breakdown."""
    return {
        "n": Count("pk"),
        "answered_n": Count("pk", filter=Q(first_response_at__isnull=False)),
        # Answered by the deadline the item was given when it arrived (its category's target).
        "within_n": Count("pk", filter=Q(first_response_at__isnull=False, first_response_at__lte=F("due_at"))),
        # Items whose target has passed or that were answered: those the target can be judged on.
        "judged_n": Count("pk", filter=Q(first_response_at__isnull=False) | Q(due_at__lt=now)),
        "open_n": Count("pk", filter=Q(status__in=Item.OPEN)),
        "overdue_n": Count("pk", filter=Q(status__in=Item.OPEN, due_at__lt=now)),
    }


_MEASURES = {
    "count": "n",
    "answered": "answered_n",
    "within_target": "within_n",
    "judged": "judged_n",
    "open": "open_n",
    "overdue": "overdue_n",
}


def _measures(row: dict[str, Any]) -> dict[str, int]:
    return {name: int(row.get(key) or 0) for name, key in _MEASURES.items()}


def _add(total: dict[str, int], row: dict[str, int]) -> None:
    for key, value in row.items():
        total[key] = total.get(key, 0) + value


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(value: datetime.timedelta | float | None, count: int = 1) -> float | None:
    """A total duration (or microseconds, as SQLite may give them), averaged over `count`, in
    hours."""
    if value is None or not count:
        return None
    seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else float(value) / 1_000_000
    return round(seconds / count / 3600, 2)


def _largest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most items first; ties by code, the row without one (not said, not routed) last."""
    return sorted(rows, key=lambda r: (-int(r["count"]), r["slug"] is None, r["slug"] or ""))


def _bucket_starts(start: datetime.date, end: datetime.date, step: str) -> list[datetime.date]:
    """Every bucket of the period, empty ones too, by the day each starts on."""
    if step == "day":
        first = start
    elif step == "week":
        first = start - datetime.timedelta(days=start.weekday())
    else:
        first = start.replace(day=1)
    out: list[datetime.date] = []
    day = first
    while day <= end:
        out.append(day)
        if step == "day":
            day += datetime.timedelta(days=1)
        elif step == "week":
            day += datetime.timedelta(days=7)
        else:
            day = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return out


def _bucket_day(value: datetime.datetime | datetime.date, zone: zoneinfo.ZoneInfo) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return (value.astimezone(zone) if timezone.is_aware(value) else value).date()
    return value


def _names(model: Any, ids: Iterable[int | None]) -> dict[int, tuple[str, dict[str, str]]]:
    """{id: (slug, {language: name})} for the rows a breakdown names."""
    wanted = sorted({pk for pk in ids if pk is not None})
    out: dict[int, tuple[str, dict[str, str]]] = {}
    for pk, slug, name in model.objects.filter(pk__in=wanted).values_list("pk", "slug", "name"):
        data = getattr(name, "data", name)
        out[pk] = (slug, data if isinstance(data, dict) else {settings.LANGUAGE_CODE: str(data or slug)})
    return out


def _ref(obj: Community | Office | Category | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    data = getattr(obj.name, "data", obj.name)
    return {
        "id": obj.pk,
        "slug": obj.slug,
        "name": data if isinstance(data, dict) else {settings.LANGUAGE_CODE: str(data)},
    }


class WidthBucket(Func):
    """PostgreSQL's `width_bucket(value, thresholds)`: which of the sorted bounds a moment
    falls after (0 before the first). Cheaper than truncating every row to a day in a time
    zone, and the planner does not take each distinct moment for a group of its own."""

    output_field = IntegerField()

    def __init__(self, expression: Any, bounds: list[datetime.datetime]) -> None:
        super().__init__(expression)
        self.bounds = bounds

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, Any]:  # type: ignore[override]
        sql, params = compiler.compile(self.source_expressions[0])
        return f"WIDTH_BUCKET({sql}, %s::timestamptz[])", (*params, self.bounds)


def _trend(
    items: QuerySet[Item], start: datetime.date, end: datetime.date, step: str, zone: zoneinfo.ZoneInfo
) -> list[dict[str, Any]]:
    """Received and (of those) answered in each bucket of the period, empty ones included."""
    days = _bucket_starts(start, end, step)
    received: dict[datetime.date, tuple[int, int]] = {}
    counts = {"n": Count("pk"), "answered_n": Count("pk", filter=Q(first_response_at__isnull=False))}
    if connections[items.db].vendor == "postgresql":
        bounds = [datetime.datetime.combine(day, datetime.time.min, tzinfo=zone) for day in days]
        for row in items.annotate(bucket=WidthBucket(F("created_at"), bounds)).values("bucket").annotate(**counts):
            # Items are filtered to the period, which starts on or after the first bound.
            day = days[max(row["bucket"], 1) - 1]
            received[day] = (row["n"], row["answered_n"])
    else:
        trunc = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[step]
        for row in items.annotate(bucket=trunc("created_at", tzinfo=zone)).values("bucket").annotate(**counts):
            day = _bucket_day(row["bucket"], zone)
            before = received.get(day, (0, 0))
            received[day] = (before[0] + row["n"], before[1] + row["answered_n"])
    return [
        {"start": day.isoformat(), "received": received.get(day, (0, 0))[0], "answered": received.get(day, (0, 0))[1]}
        for day in days
    ]


def _work_mem_mb() -> int:
    value = int(settings.YULAN_FEEDBACK_REPORT_WORK_MEM_MB)
    return max(4, min(value, 1024))


def compute(
    *,
    start: datetime.date,
    end: datetime.date,
    community_id: int | None = None,
    office_id: int | None = None,
    category_id: int | None = None,
) -> dict[str, Any]:
    """The figures of the feedback items received from `start` to `end` (whole days in the
    city's time zone), for the whole city or one community, optionally one office and one
    category. JSON-able: a report freezes it as it is. Names are kept in every language, so a
    page or file made from it is in its reader's language."""
    start, end = clean_period(start, end)
    using = router.db_for_read(Item)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return _compute(start, end, community_id, office_id, category_id)
    # One transaction: the figures agree with each other; and more memory for the joins and the
    # sort of response times than a page's query gets, so that none of them spills to disk.
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{_work_mem_mb()}MB'")
        return _compute(start, end, community_id, office_id, category_id)


def _compute(
    start: datetime.date,
    end: datetime.date,
    community_id: int | None,
    office_id: int | None,
    category_id: int | None,
) -> dict[str, Any]:
    community, office, category = _scope_objects(community_id, office_id, category_id)
    since, until = _bounds(start, end)
    zone = _zone()
    now = timezone.now()
    where = _item_filter("", since, until, community, office, category)
    items = Item.objects.filter(where).order_by()
    counts = _counts(now)

    # 1. By community and status: the totals, the status breakdown and the stacked chart.
    totals: dict[str, int] = {}
    by_status = {status: 0 for status in Status.values}
    communities: dict[int | None, dict[str, Any]] = {}
    supporters = 0
    for row in items.values("community_id", "status").annotate(**counts, supporters_n=Sum("supporters_count")):
        measures = _measures(row)
        _add(totals, measures)
        by_status[row["status"]] = by_status.get(row["status"], 0) + measures["count"]
        supporters += int(row["supporters_n"] or 0)
        entry = communities.setdefault(row["community_id"], {"measures": {}, "statuses": {}})
        _add(entry["measures"], measures)
        entry["statuses"][row["status"]] = entry["statuses"].get(row["status"], 0) + measures["count"]
    totals = {name: totals.get(name, 0) for name in _MEASURES}

    # 2. By category and office, in one pass: both breakdowns.
    per_category: dict[int, dict[str, int]] = {}
    per_office: dict[int | None, dict[str, int]] = {}
    for row in items.values("category_id", "office_id").annotate(**counts):
        measures = _measures(row)
        _add(per_category.setdefault(row["category_id"], {}), measures)
        _add(per_office.setdefault(row["office_id"], {}), measures)

    # 3. The trend: received per day, week or month, and how many of those have been answered.
    step = granularity(start, end)
    trend = _trend(items, start, end, step, zone)
    # 4. Response times.
    median, p90 = _response_percentiles(items)

    # 5. Recurring themes.
    through = Item.tags.through
    theme_rows = list(
        through.objects.filter(_item_filter("item__", since, until, community, office, category))
        .values("tag_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "tag_id")[:TOP_THEMES]
    )
    tags = {
        pk: (slug, name)
        for pk, slug, name in Tag.objects.filter(pk__in=[r["tag_id"] for r in theme_rows]).values_list(
            "pk", "slug", "name"
        )
    }
    themes = [
        {"slug": tags[r["tag_id"]][0], "name": tags[r["tag_id"]][1], "count": r["n"]}
        for r in theme_rows
        if r["tag_id"] in tags
    ]

    # 6. Time in each status, on average, over the stretches that have ended.
    span_rows = (
        StatusSpan.objects.filter(_item_filter("item__", since, until, community, office, category))
        # An item's stretches start when it arrives or later: this narrows the join, no more.
        .filter(ended_at__isnull=False, started_at__gte=since)
        .order_by()
        .values("status")
        .annotate(
            n=Count("pk"),
            # A sum of intervals costs far less than their average; the division is done here.
            spent=Sum(ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())),
        )
    )
    spans = {row["status"]: row for row in span_rows if row["n"]}
    time_in_status = [
        {"status": status, "spans": spans[status]["n"], "hours": _hours(spans[status]["spent"], spans[status]["n"])}
        for status in Status.values
        if status in spans
    ]

    # Names, in every language, of what the breakdowns name.
    community_names = _names(Community, communities)
    category_names = _names(Category, per_category)
    office_names = _names(Office, per_office)
    names: dict[str, dict[str, dict[str, str]]] = {
        "communities": {slug: name for slug, name in community_names.values()},
        "categories": {slug: name for slug, name in category_names.values()},
        "offices": {slug: name for slug, name in office_names.values()},
    }

    def slug_of(table: dict[int, tuple[str, dict[str, str]]], pk: int | None) -> str | None:
        return table[pk][0] if pk is not None and pk in table else None

    by_community = _largest_first(
        [
            {
                "slug": slug_of(community_names, pk),
                **entry["measures"],
                "statuses": {status: entry["statuses"].get(status, 0) for status in Status.values},
            }
            for pk, entry in communities.items()
        ]
    )
    by_category = _largest_first(
        [{"slug": slug_of(category_names, pk), **measures} for pk, measures in per_category.items()]
    )
    by_office = _largest_first([{"slug": slug_of(office_names, pk), **measures} for pk, measures in per_office.items()])

    return {
        "version": DATA_VERSION,
        "computed_at": now.isoformat(),
        "time_zone": settings.TIME_ZONE,
        "period": {"start": start.isoformat(), "end": end.isoformat(), "days": (end - start).days + 1},
        "scope": {"community": _ref(community), "office": _ref(office), "category": _ref(category)},
        "total": totals["count"],
        "answered": totals["answered"],
        "open": totals["open"],
        "overdue": totals["overdue"],
        "supporters": supporters,
        "response_hours": {
            "median": None if median is None else round(median, 2),
            "p90": None if p90 is None else round(p90, 2),
            "answered": totals["answered"],
        },
        "within_target": {
            "count": totals["within_target"],
            "of": totals["judged"],
            "share": _share(totals["within_target"], totals["judged"]),
        },
        "by_status": [{"status": status, "count": by_status.get(status, 0)} for status in Status.values],
        "by_community": by_community,
        "by_category": by_category,
        "top_categories": [r["slug"] for r in by_category[:TOP_CATEGORIES]],
        "by_office": by_office,
        "themes": themes,
        "trend": {"step": step, "points": trend},
        "time_in_status": time_in_status,
        "names": names,
    }


# --- rights -----------------------------------------------------------------------------------------


def report_scope(user: Any) -> frozenset[int] | None:
    """The communities the user may report on: None means the whole city and every community."""
    return community_scope(user, Perm.FEEDBACK_REPORTS)


def may_report_city(user: Any) -> bool:
    return report_scope(user) is None


def require_report_on(user: Any, community_id: int | None) -> None:
    """May `user` see live figures of, or make a report on, this community (None: the city)?"""
    scope = report_scope(user)
    if scope is None:
        return
    if not scope:
        raise NotAllowed(_("You do not have permission to make feedback reports."))
    if community_id is None:
        raise NotAllowed(_("Only the city level may report on the whole city: choose your community."))
    if community_id not in scope:
        raise NotAllowed(_("You may report on your own community only."))


def report_live(
    *,
    actor: User,
    start: Any,
    end: Any,
    community_id: int | None = None,
    office_id: int | None = None,
    category_id: int | None = None,
) -> dict[str, Any]:
    """The figures computed now, not kept."""
    require_report_on(actor, community_id)
    return compute(start=start, end=end, community_id=community_id, office_id=office_id, category_id=category_id)


# --- reads ------------------------------------------------------------------------------------------


def reports_visible_to(user: Any) -> QuerySet[Report]:
    """The reports `user` may read: the city level reads them all; a coordinator its own
    community's, and those shared with every member community; others none."""
    scope = report_scope(user)
    qs = Report.objects.select_related("community", "created_by").defer("data")
    if scope is None:
        return qs
    if not scope:
        return qs.none()
    return qs.filter(Q(community_id__in=sorted(scope)) | Q(sharing=Report.Sharing.ALL))


def is_ours(user: Any, report: Report) -> bool:
    """Is the report of the user's own scope (rather than shared with it from elsewhere)?"""
    scope = report_scope(user)
    if scope is None:
        return True
    return report.community_id is not None and report.community_id in scope


def may_manage(user: Any, report: Report) -> bool:
    """May the user change the report's sharing or delete it?"""
    scope = report_scope(user)
    if scope is None:
        return True
    return report.community_id is not None and report.community_id in scope


def _report_id(report_id: Any) -> int:
    if not isinstance(report_id, int) or not 0 < report_id <= MAX_ID:
        raise ApplicationError(_("This report does not exist."), status=404)
    return report_id


def report_get(*, actor: User, report_id: int) -> Report:
    report_id = _report_id(report_id)
    report = Report.objects.select_related("community", "created_by").filter(pk=report_id).first()
    if report is None:
        raise ApplicationError(_("This report does not exist."), status=404)
    if not reports_visible_to(actor).filter(pk=report.pk).exists():
        raise NotAllowed(_("This report is not shared with you."))
    return report


def reports_grouped(user: Any) -> dict[str, list[Report]]:
    """The visible reports, the user's own scope's first, then those shared with it."""
    ours: list[Report] = []
    shared: list[Report] = []
    for report in reports_visible_to(user)[:500]:
        (ours if is_ours(user, report) else shared).append(report)
    return {"ours": ours, "shared": shared}


# --- writes -----------------------------------------------------------------------------------------


def _clean_title(title: Any) -> str:
    text = strip_html(str(title or "")).strip()
    text = " ".join(text.split())
    if not text:
        raise ApplicationError(_("Give the report a title."), field="title")
    if len(text) > 200:
        raise ApplicationError(_("Keep the title under 200 characters."), field="title")
    return text


def _clean_sharing(sharing: Any) -> str:
    if sharing not in Report.Sharing.values:
        raise ApplicationError(_("Choose who the report is shared with."), field="sharing")
    return str(sharing)


def _report_snapshot(report: Report) -> dict[str, Any]:
    data = snapshot(report)
    data.pop("data", None)
    return data


def report_create(
    *,
    actor: User,
    title: Any,
    start: Any,
    end: Any,
    community_id: int | None,
    office_id: int | None = None,
    category_id: int | None = None,
    sharing: str = Report.Sharing.PRIVATE,
) -> Report:
    """Compute the figures and keep them as they are now."""
    title = _clean_title(title)
    sharing = _clean_sharing(sharing)
    data = report_live(
        actor=actor,
        start=start,
        end=end,
        community_id=community_id,
        office_id=office_id,
        category_id=category_id,
    )
    scope = data["scope"]
    filters = {
        key: {"id": scope[key]["id"], "slug": scope[key]["slug"]} for key in ("office", "category") if scope[key]
    }
    with transaction.atomic():
        report = Report.objects.create(
            title=title,
            community_id=scope["community"]["id"] if scope["community"] else None,
            period_start=datetime.date.fromisoformat(data["period"]["start"]),
            period_end=datetime.date.fromisoformat(data["period"]["end"]),
            filters=filters,
            data=data,
            sharing=sharing,
            created_by=actor,
        )
        audit_record(actor=actor, action="feedback.report.create", target=report, after=_report_snapshot(report))
    return report


def _locked_report(actor: User, report_id: int) -> Report:
    report_id = _report_id(report_id)
    report = Report.objects.select_for_update().filter(pk=report_id).first()
    if report is None:
        raise ApplicationError(_("This report does not exist."), status=404)
    if not may_manage(actor, report):
        raise NotAllowed(_("Only the report's own community or the city level may change it."))
    return report


def report_share(*, actor: User, report_id: int, sharing: str) -> Report:
    sharing = _clean_sharing(sharing)
    with transaction.atomic():
        report = _locked_report(actor, report_id)
        if report.sharing == sharing:
            return report
        before = _report_snapshot(report)
        report.sharing = sharing
        report.save(update_fields=["sharing"])
        audit_record(
            actor=actor, action="feedback.report.share", target=report, before=before, after=_report_snapshot(report)
        )
    return report


def report_delete(*, actor: User, report_id: int) -> None:
    with transaction.atomic():
        report = _locked_report(actor, report_id)
        audit_record(actor=actor, action="feedback.report.delete", target=report, before=_report_snapshot(report))
        report.delete()
