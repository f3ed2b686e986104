"""Feedback reports: the figures of a small hand-made period (totals, statuses, response times,
the response target, overdue items, themes, the trend per day, week and month, time in each
status), the period's checks, and who may compute, make, read, share and delete reports."""

import datetime
import json
import zoneinfo

import pytest
from django.conf import settings
from django.utils import timezone

from yulan.core.errors import ApplicationError, NotAllowed
from yulan.core.models import AuditEntry, Role
from yulan.core.services import role_grant
from yulan.voice import reports, services
from yulan.voice.models import Item, Report, StatusSpan

from .conftest import submit

Status = Item.Status
Sharing = Report.Sharing
ZONE = zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=ZONE)


def hours(n: float) -> datetime.timedelta:
    return datetime.timedelta(hours=n)


def make(
    n: int,
    *,
    at: datetime.datetime,
    status: str = Status.RECEIVED,
    answered_after: float | None = None,
    due: datetime.datetime | None = None,
    supporters: int = 0,
    **submitted,
) -> Item:
    """An item submitted through the service, then moved to a controlled time and state."""
    item = submit(text=f"Report test item number {n}: the streetlight is broken again.", **submitted).item
    category_hours = item.category.response_hours
    Item.objects.filter(pk=item.pk).update(
        created_at=at,
        status=status,
        due_at=due or at + hours(category_hours),
        first_response_at=None if answered_after is None else at + hours(answered_after),
        supporters_count=supporters,
    )
    StatusSpan.objects.filter(item=item).delete()
    item.refresh_from_db()
    return item


@pytest.fixture
def dataset(routing, community, other_community, office, city_office):
    """Five items from 1 January to 31 March 2025 (three in Hongqiao, two in Huacao) and two just
    outside it.

    ====  =====================  ==========  =========  ===========  ==============================
    item  created (city time)    community   category   status       first response
    ====  =====================  ==========  =========  ===========  ==============================
    a     10 Jan 10:00           hongqiao    streets    answered     +10 h (target 72 h: in time)
    b     20 Jan 07:00 (Monday)  hongqiao    streets    closed       +100 h (late)
    c      5 Feb 12:00           hongqiao    services   answered     +20 h (target 120 h: in time)
    d     14 Feb 08:00           huacao      services   received     none, target passed: overdue
    e     31 Mar 23:59           huacao      streets    in progress  none, target still ahead
    ====  =====================  ==========  =========  ===========  ==============================
    """
    now = timezone.now()
    items = {
        "a": make(1, at=local(2025, 1, 10, 10), status=Status.ANSWERED, answered_after=10, supporters=3),
        "b": make(2, at=local(2025, 1, 20, 7), status=Status.CLOSED, answered_after=100),
        "c": make(
            3, at=local(2025, 2, 5, 12), status=Status.ANSWERED, answered_after=20, supporters=2, category="services"
        ),
        "d": make(4, at=local(2025, 2, 14, 8), category="services", community="huacao"),
        "e": make(5, at=local(2025, 3, 31, 23, 59), status=Status.IN_PROGRESS, community="huacao", due=now + hours(24)),
        # Outside the period, by a minute either side.
        "before": make(6, at=local(2024, 12, 31, 23, 59), status=Status.ANSWERED, answered_after=1, supporters=50),
        "after": make(7, at=local(2025, 4, 1, 0, 0), status=Status.RECEIVED, supporters=50),
    }
    a, b, c = items["a"], items["b"], items["c"]
    # Themes.
    lights, noise, signs = (services.tag_named(n) for n in ("Streetlights", "Noise at night", "Bus signs"))
    a.tags.add(lights)
    b.tags.add(lights, noise)
    items["d"].tags.add(noise)
    c.tags.add(signs)
    items["before"].tags.add(signs, noise)
    # Time in each status: received 2 h, 4 h and 6 h; in progress 10 h; open stretches do not count.
    t = local(2025, 1, 10, 10)
    StatusSpan.objects.bulk_create(
        [
            StatusSpan(item=a, status=Status.RECEIVED, started_at=t, ended_at=t + hours(2)),
            StatusSpan(item=a, status=Status.ANSWERED, started_at=t + hours(2)),
            StatusSpan(item=b, status=Status.RECEIVED, started_at=t, ended_at=t + hours(4)),
            StatusSpan(item=b, status=Status.IN_PROGRESS, started_at=t + hours(4), ended_at=t + hours(14)),
            StatusSpan(item=b, status=Status.CLOSED, started_at=t + hours(14)),
            StatusSpan(item=c, status=Status.RECEIVED, started_at=t, ended_at=t + hours(6)),
            StatusSpan(item=items["before"], status=Status.RECEIVED, started_at=t, ended_at=t + hours(500)),
        ]
    )
    return items


FIRST_QUARTER = {"start": datetime.date(2025, 1, 1), "end": datetime.date(2025, 3, 31)}


def by(rows: list[dict], key: str = "slug") -> dict:
    return {row[key]: row for row in rows}


# --- the figures ------------------------------------------------------------------------------------


def test_totals_statuses_and_the_overdue_of_the_period(dataset):
    data = reports.compute(**FIRST_QUARTER)
    assert data["total"] == 5
    assert data["answered"] == 3
    assert data["open"] == 2
    assert data["overdue"] == 1
    assert data["supporters"] == 5
    statuses = {row["status"]: row["count"] for row in data["by_status"]}
    assert statuses == {
        "received": 1,
        "assigned": 0,
        "in_progress": 1,
        "answered": 2,
        "closed": 1,
        "merged": 0,
        "declined": 0,
    }
    assert data["period"] == {"start": "2025-01-01", "end": "2025-03-31", "days": 90}
    # What a report freezes is plain JSON.
    assert json.loads(json.dumps(data)) == data


def test_response_times_median_and_90th_percentile_in_hours(dataset):
    data = reports.compute(**FIRST_QUARTER)
    # Answered after 10, 20 and 100 hours: the median is 20; the 90th percentile lies 80% of
    # the way from 20 to 100 (percentile_cont's interpolation).
    assert data["response_hours"] == {"median": 20.0, "p90": 84.0, "answered": 3}


def test_share_answered_within_the_response_target(dataset):
    target = reports.compute(**FIRST_QUARTER)["within_target"]
    # a and c in time, b late, d past its target unanswered; e's target is still ahead.
    assert target == {"count": 2, "of": 4, "share": 0.5}


def test_breakdowns_by_community_category_and_office(dataset, office, city_office):
    data = reports.compute(**FIRST_QUARTER)
    communities = by(data["by_community"])
    assert communities["hongqiao"]["count"] == 3
    assert communities["hongqiao"]["statuses"]["answered"] == 2
    assert communities["hongqiao"]["statuses"]["closed"] == 1
    assert communities["huacao"]["count"] == 2
    assert communities["huacao"]["overdue"] == 1
    assert [row["slug"] for row in data["by_community"]] == ["hongqiao", "huacao"]

    categories = by(data["by_category"])
    assert categories["streets"]["count"] == 3
    assert categories["streets"]["answered"] == 2
    assert categories["streets"]["within_target"] == 1
    assert categories["services"]["count"] == 2
    assert categories["services"]["overdue"] == 1
    assert data["top_categories"] == ["streets", "services"]

    offices = by(data["by_office"])
    # Streets in Hongqiao go to the foreign-affairs office, the rest to city services.
    assert offices[office.slug]["count"] == 2
    assert offices[city_office.slug]["count"] == 3
    # Names are kept in every language, to be shown in the reader's.
    assert data["names"]["categories"]["streets"]["zh-hans"] == "道路与照明"
    assert data["names"]["communities"]["hongqiao"]["en"] == "Hongqiao Subdistrict"
    assert data["names"]["offices"][office.slug]["en"] == "Foreign Affairs Office"


def test_recurring_themes_most_frequent_first(dataset):
    themes = reports.compute(**FIRST_QUARTER)["themes"]
    assert [(t["slug"], t["count"]) for t in themes] == [
        ("streetlights", 2),
        ("noise-at-night", 2),
        ("bus-signs", 1),
    ]
    assert themes[0]["name"] == "Streetlights"


def test_average_time_in_each_status_over_ended_stretches(dataset):
    rows = by(reports.compute(**FIRST_QUARTER)["time_in_status"], "status")
    assert rows["received"] == {"status": "received", "spans": 3, "hours": 4.0}
    assert rows["in_progress"] == {"status": "in_progress", "spans": 1, "hours": 10.0}
    # Stretches still running are left out.
    assert "answered" not in rows
    assert "closed" not in rows


def test_the_trend_per_week_for_a_quarter(dataset):
    trend = reports.compute(**FIRST_QUARTER)["trend"]
    assert trend["step"] == "week"
    points = {p["start"]: p for p in trend["points"]}
    # Weeks start on Monday: the first holds 1 January; every week is there, empty or not.
    assert trend["points"][0]["start"] == "2024-12-30"
    assert trend["points"][-1]["start"] == "2025-03-31"
    assert len(trend["points"]) == 14
    assert points["2025-01-06"] == {"start": "2025-01-06", "received": 1, "answered": 1}
    # b arrived at 7:00 on Monday 20 January, city time (still Sunday in UTC).
    assert points["2025-01-20"]["received"] == 1
    assert points["2025-01-13"]["received"] == 0
    assert points["2025-03-31"] == {"start": "2025-03-31", "received": 1, "answered": 0}
    assert sum(p["received"] for p in trend["points"]) == 5


def test_the_trend_per_month_for_half_a_year(dataset):
    trend = reports.compute(start=datetime.date(2025, 1, 1), end=datetime.date(2025, 6, 30))["trend"]
    assert trend["step"] == "month"
    assert [(p["start"], p["received"], p["answered"]) for p in trend["points"]] == [
        ("2025-01-01", 2, 2),
        ("2025-02-01", 2, 1),
        ("2025-03-01", 1, 0),
        ("2025-04-01", 1, 0),
        ("2025-05-01", 0, 0),
        ("2025-06-01", 0, 0),
    ]


def test_the_trend_per_day_for_a_month_in_city_time(dataset):
    trend = reports.compute(start=datetime.date(2025, 1, 1), end=datetime.date(2025, 1, 31))["trend"]
    assert trend["step"] == "day"
    assert len(trend["points"]) == 31
    points = {p["start"]: p["received"] for p in trend["points"]}
    assert points["2025-01-10"] == 1
    assert points["2025-01-20"] == 1
    assert points["2025-01-19"] == 0
    assert sum(points.values()) == 2


def test_the_period_includes_both_ends_whole_days_in_city_time(dataset):
    assert reports.compute(start=datetime.date(2025, 3, 31), end=datetime.date(2025, 3, 31))["total"] == 1
    assert reports.compute(start=datetime.date(2024, 12, 31), end=datetime.date(2024, 12, 31))["total"] == 1
    assert reports.compute(start=datetime.date(2025, 4, 1), end=datetime.date(2025, 4, 1))["total"] == 1
    assert reports.compute(start=datetime.date(2025, 4, 2), end=datetime.date(2025, 4, 30))["total"] == 0


def test_filters_narrow_the_figures(dataset, other_community, city_office, routing):
    huacao = reports.compute(**FIRST_QUARTER, community_id=other_community.pk)
    assert huacao["total"] == 2
    assert huacao["scope"]["community"]["slug"] == "huacao"
    assert [row["slug"] for row in huacao["by_community"]] == ["huacao"]
    assert huacao["response_hours"]["median"] is None
    assert [t["slug"] for t in huacao["themes"]] == ["noise-at-night"]

    services_only = reports.compute(**FIRST_QUARTER, category_id=routing["services"].pk)
    assert services_only["total"] == 2
    assert services_only["response_hours"]["median"] == 20.0

    city = reports.compute(**FIRST_QUARTER, office_id=city_office.pk)
    assert city["total"] == 3
    assert city["overdue"] == 1


def test_an_empty_period_has_zeros_and_no_response_times(db):
    data = reports.compute(start=datetime.date(2030, 1, 1), end=datetime.date(2030, 12, 31))
    assert data["total"] == 0
    assert data["response_hours"] == {"median": None, "p90": None, "answered": 0}
    assert data["within_target"]["share"] is None
    assert len(data["trend"]["points"]) == 12
    assert data["themes"] == []


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2025-02-01", "2025-01-31", "end"),
        ("2025-01-01", "2028-01-01", "end"),
        ("yesterday", "2025-01-31", "start"),
        ("2025-01-01", "2025-02-30", "end"),
        ("0001-01-01", "0001-01-02", "start"),
        ("", "2025-01-31", "start"),
        (None, "2025-01-31", "start"),
    ],
)
def test_a_bad_period_is_refused_naming_its_field(db, start, end, field):
    with pytest.raises(ApplicationError) as caught:
        reports.compute(start=start, end=end)
    assert caught.value.field == field
    assert caught.value.status == 400


def test_three_years_is_the_longest_period(db):
    data = reports.compute(start=datetime.date(2024, 1, 1), end=datetime.date(2026, 12, 31))
    assert data["period"]["days"] == 1096
    assert len(data["trend"]["points"]) == 36


@pytest.mark.parametrize("field", ["community_id", "office_id", "category_id"])
def test_an_unknown_community_office_or_category_is_refused(db, field):
    with pytest.raises(ApplicationError) as caught:
        reports.compute(**FIRST_QUARTER, **{field: 999999})
    assert caught.value.field == field.removesuffix("_id")


# --- rights -----------------------------------------------------------------------------------------


def test_a_coordinator_reports_on_its_own_community_only(dataset, coordinator, community, other_community):
    data = reports.report_live(actor=coordinator, **FIRST_QUARTER, community_id=community.pk)
    assert data["total"] == 3
    with pytest.raises(NotAllowed):
        reports.report_live(actor=coordinator, **FIRST_QUARTER, community_id=None)
    with pytest.raises(NotAllowed):
        reports.report_live(actor=coordinator, **FIRST_QUARTER, community_id=other_community.pk)
    with pytest.raises(NotAllowed):
        reports.report_create(actor=coordinator, title="City", **FIRST_QUARTER, community_id=None, sharing="all")
    with pytest.raises(NotAllowed):
        reports.report_create(
            actor=coordinator, title="Theirs", **FIRST_QUARTER, community_id=other_community.pk, sharing="all"
        )
    assert not Report.objects.exists()


def test_editors_report_on_the_city_and_any_community(dataset, editor, other_community):
    city = reports.report_create(actor=editor, title="  Q1   city ", **FIRST_QUARTER, community_id=None, sharing="city")
    assert city.title == "Q1 city"
    assert city.community_id is None
    assert city.data["total"] == 5
    assert (city.period_start, city.period_end) == (datetime.date(2025, 1, 1), datetime.date(2025, 3, 31))
    theirs = reports.report_create(
        actor=editor, title="Huacao", **FIRST_QUARTER, community_id=other_community.pk, sharing="private"
    )
    assert theirs.data["total"] == 2
    entry = AuditEntry.objects.filter(action="feedback.report.create", target_id=str(city.pk)).get()
    assert entry.actor == editor
    assert "data" not in entry.after


def test_responders_and_residents_have_no_report_rights(dataset, responder, resident, community):
    for user in (responder, resident):
        with pytest.raises(NotAllowed):
            reports.report_live(actor=user, **FIRST_QUARTER, community_id=community.pk)
        assert not reports.reports_visible_to(user).exists()


def test_a_responder_who_is_also_a_coordinator_reports_as_the_coordinator(dataset, admin_user, responder, community):
    role_grant(actor=admin_user, user=responder, role=Role.COORDINATOR, community=community)
    assert reports.report_live(actor=responder, **FIRST_QUARTER, community_id=community.pk)["total"] == 3
    with pytest.raises(NotAllowed):
        reports.report_live(actor=responder, **FIRST_QUARTER, community_id=None)


def test_a_report_freezes_its_figures(dataset, editor):
    report = reports.report_create(actor=editor, title="Q1", **FIRST_QUARTER, community_id=None)
    submit(text="Arrived after the report was made, inside its period.")
    Item.objects.filter(pk=dataset["a"].pk).update(status=Status.CLOSED)
    report.refresh_from_db()
    assert report.data["total"] == 5
    assert report.sharing == Sharing.PRIVATE


def test_a_report_keeps_its_filters(dataset, editor, city_office, routing):
    report = reports.report_create(
        actor=editor,
        title="Services",
        **FIRST_QUARTER,
        community_id=None,
        office_id=city_office.pk,
        category_id=routing["services"].pk,
    )
    assert report.filters == {
        "office": {"id": city_office.pk, "slug": city_office.slug},
        "category": {"id": routing["services"].pk, "slug": "services"},
    }
    assert report.data["total"] == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"title": "  "}, "title"), ({"title": "x" * 201}, "title"), ({"sharing": "world"}, "sharing")],
)
def test_bad_report_input_is_refused_naming_its_field(db, editor, overrides, field):
    kwargs = {"title": "Q1", **FIRST_QUARTER, "community_id": None, "sharing": "private", **overrides}
    with pytest.raises(ApplicationError) as caught:
        reports.report_create(actor=editor, **kwargs)
    assert caught.value.field == field


@pytest.fixture
def library(dataset, admin_user, coordinator, community, other_community):
    """Reports of every scope and sharing: the city's, Huacao's (by the city level) and
    Hongqiao's own (by its coordinator)."""
    made = {}
    for sharing in Sharing.values:
        made[f"city-{sharing}"] = reports.report_create(
            actor=admin_user, title=f"City {sharing}", **FIRST_QUARTER, community_id=None, sharing=sharing
        )
        made[f"huacao-{sharing}"] = reports.report_create(
            actor=admin_user,
            title=f"Huacao {sharing}",
            **FIRST_QUARTER,
            community_id=other_community.pk,
            sharing=sharing,
        )
    made["hongqiao-private"] = reports.report_create(
        actor=coordinator, title="Hongqiao private", **FIRST_QUARTER, community_id=community.pk
    )
    made["hongqiao-city"] = reports.report_create(
        actor=admin_user, title="Hongqiao city", **FIRST_QUARTER, community_id=community.pk, sharing="city"
    )
    return made


def visible(user) -> set[str]:
    return set(reports.reports_visible_to(user).values_list("title", flat=True))


def test_the_city_level_sees_every_report(library, editor, admin_user):
    everything = {r.title for r in library.values()}
    assert visible(editor) == everything
    assert visible(admin_user) == everything


def test_a_coordinator_sees_its_own_and_those_shared_with_all(library, coordinator, huacao_coordinator):
    assert visible(coordinator) == {"Hongqiao private", "Hongqiao city", "City all", "Huacao all"}
    assert visible(huacao_coordinator) == {"Huacao private", "Huacao city", "Huacao all", "City all"}
    grouped = reports.reports_grouped(coordinator)
    assert {r.title for r in grouped["ours"]} == {"Hongqiao private", "Hongqiao city"}
    assert {r.title for r in grouped["shared"]} == {"City all", "Huacao all"}
    assert reports.report_get(actor=coordinator, report_id=library["huacao-all"].pk).data["total"] == 2
    for key in ("huacao-private", "huacao-city", "city-private", "city-city"):
        with pytest.raises(NotAllowed):
            reports.report_get(actor=coordinator, report_id=library[key].pk)
    with pytest.raises(ApplicationError) as caught:
        reports.report_get(actor=coordinator, report_id=999999)
    assert caught.value.status == 404


def test_sharing_changes_who_sees_a_report_and_is_audited(library, coordinator, huacao_coordinator):
    own = library["hongqiao-private"]
    assert own.title not in visible(huacao_coordinator)
    reports.report_share(actor=coordinator, report_id=own.pk, sharing="all")
    assert own.title in visible(huacao_coordinator)
    entry = AuditEntry.objects.get(action="feedback.report.share", target_id=str(own.pk))
    assert (entry.before["sharing"], entry.after["sharing"]) == ("private", "all")
    # Someone else's report, even one it can read, is not the coordinator's to change.
    for key in ("huacao-all", "city-all"):
        with pytest.raises(NotAllowed):
            reports.report_share(actor=coordinator, report_id=library[key].pk, sharing="private")
    with pytest.raises(ApplicationError) as caught:
        reports.report_share(actor=coordinator, report_id=own.pk, sharing="everyone")
    assert caught.value.field == "sharing"


def test_deleting_a_report(library, coordinator, editor):
    with pytest.raises(NotAllowed):
        reports.report_delete(actor=coordinator, report_id=library["city-all"].pk)
    reports.report_delete(actor=coordinator, report_id=library["hongqiao-private"].pk)
    reports.report_delete(actor=editor, report_id=library["huacao-private"].pk)
    assert not Report.objects.filter(pk__in=[library["hongqiao-private"].pk, library["huacao-private"].pk]).exists()
    assert AuditEntry.objects.filter(action="feedback.report.delete").count() == 2
