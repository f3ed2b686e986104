"""Feedback report pages through the test client: the list of reports one may read, making a
report, live figures, a report's page with its charts and tables, sharing, the CSV file, who is
turned away, and bad input answered 400 with the field named."""

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse

from yulan.core.models import AuditEntry
from yulan.voice import reports
from yulan.voice.models import Item, Report

from .conftest import submit

Status = Item.Status


@pytest.fixture
def items(routing, community, other_community):
    """Two items in Hongqiao (one answered, with a formula-like theme) and one in Huacao, all
    in January 2025."""
    from yulan.voice import services

    made = []
    for n, (community_slug, at) in enumerate(
        [
            ("hongqiao", "2025-01-10T10:00:00+08:00"),
            ("hongqiao", "2025-01-12T10:00:00+08:00"),
            ("huacao", "2025-01-15T10:00:00+08:00"),
        ]
    ):
        item = submit(text=f"Report page test item {n}: the pavement is broken.", community=community_slug).item
        when = datetime.datetime.fromisoformat(at)
        Item.objects.filter(pk=item.pk).update(created_at=when, due_at=when + datetime.timedelta(hours=72))
        made.append(item)
    Item.objects.filter(pk=made[0].pk).update(
        status=Status.ANSWERED, first_response_at=datetime.datetime.fromisoformat("2025-01-10T20:00:00+08:00")
    )
    made[0].tags.add(services.tag_named("=HYPERLINK(1)"))
    return made


JANUARY = {"start": "2025-01-01", "end": "2025-01-31"}


def make_report(actor, *, community=None, sharing="private", title="January"):
    return reports.report_create(
        actor=actor,
        title=title,
        start=datetime.date(2025, 1, 1),
        end=datetime.date(2025, 1, 31),
        community_id=community.pk if community else None,
        sharing=sharing,
    )


# --- the list and making a report ---------------------------------------------------------------


def test_the_list_groups_our_reports_and_those_shared_with_us(
    client, items, coordinator, admin_user, community, other_community
):
    make_report(coordinator, community=community, title="Hongqiao January")
    make_report(admin_user, community=other_community, sharing="all", title="Huacao for everyone")
    make_report(admin_user, community=other_community, sharing="city", title="Huacao for the city")
    client.force_login(coordinator)
    response = client.get(reverse("voice:reports"))
    assert response.status_code == 200
    html = response.content.decode()
    ours, shared = html.split('id="reports-shared"')
    assert "Hongqiao January" in ours
    assert "Huacao for everyone" in shared
    assert "Huacao for the city" not in html
    # The coordinator's form offers its own community, not the whole city nor another.
    form = html.split('id="new-report"')[1]
    assert 'value="hongqiao"' in form
    assert 'value="huacao"' not in form
    assert "The whole city" not in form


def test_an_editor_makes_a_city_report_through_the_form(client, items, editor):
    client.force_login(editor)
    page = client.get(reverse("voice:reports")).content.decode()
    assert "The whole city" in page
    response = client.post(
        reverse("voice:reports"),
        {"title": "City January", **JANUARY, "community": "", "office": "", "category": "", "sharing": "city"},
    )
    report = Report.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("voice:report", args=[report.pk])
    assert report.community_id is None
    assert report.sharing == "city"
    assert report.data["total"] == 3
    assert AuditEntry.objects.filter(action="feedback.report.create").exists()


@pytest.mark.parametrize(
    ("changes", "field_label"),
    [
        ({"start": "2025-13-01"}, "From"),
        ({"end": "2024-12-01"}, "To"),
        ({"end": "2029-01-01"}, "To"),
        ({"title": ""}, "Title"),
        ({"sharing": "world"}, "Shared with"),
        ({"community": "atlantis"}, "Community"),
        ({"office": "nowhere"}, "Office"),
        ({"category": "nothing"}, "Category"),
    ],
)
def test_bad_report_input_answers_400_naming_the_field(client, items, editor, changes, field_label):
    client.force_login(editor)
    data = {"title": "January", **JANUARY, "community": "", "sharing": "private", **changes}
    response = client.post(reverse("voice:reports"), data)
    assert response.status_code == 400
    assert f"<li>{field_label}: " in response.content.decode()
    assert not Report.objects.exists()


def test_a_coordinator_cannot_make_a_city_or_another_communitys_report(client, items, coordinator):
    client.force_login(coordinator)
    for community in ("", "huacao"):
        data = {"title": "Not ours", **JANUARY, "community": community, "sharing": "all"}
        assert client.post(reverse("voice:reports"), data).status_code == 403
    assert not Report.objects.exists()


def test_responders_and_residents_are_turned_away(client, items, responder, resident):
    client.force_login(responder)
    assert client.get(reverse("voice:reports")).status_code == 403
    assert client.get(reverse("voice:report_live"), {**JANUARY, "community": "hongqiao"}).status_code == 403
    client.force_login(resident)
    assert client.get(reverse("voice:reports")).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, items):
    response = client.get(reverse("voice:reports"))
    assert response.status_code == 302
    assert "login" in response["Location"]


# --- live figures -------------------------------------------------------------------------------


def test_live_figures_render_with_charts_and_tables(client, items, editor):
    client.force_login(editor)
    response = client.get(reverse("voice:report_live"), {**JANUARY, "community": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 5
    assert "Items by community and status" in html
    assert "Hongqiao Subdistrict" in html
    assert "Huacao Town" in html
    assert "Streets and lighting" in html
    assert "Received per day" in html
    assert "Now (not kept)" in html
    assert not Report.objects.exists()


def test_live_figures_without_a_query_show_this_month(client, items, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("voice:report_live"))
    assert response.status_code == 200
    assert "Hongqiao Subdistrict" in response.content.decode()


def test_a_coordinators_live_figures_are_its_own_communitys_only(client, items, coordinator):
    client.force_login(coordinator)
    ours = client.get(reverse("voice:report_live"), {**JANUARY, "community": "hongqiao"})
    assert ours.status_code == 200
    assert client.get(reverse("voice:report_live"), {**JANUARY, "community": ""}).status_code == 403
    assert client.get(reverse("voice:report_live"), {**JANUARY, "community": "huacao"}).status_code == 403


@pytest.mark.parametrize(
    ("query", "field_label"),
    [
        ({"start": "tomorrow", "end": "2025-01-31"}, "From"),
        ({"start": "2025-01-31", "end": "2025-01-01"}, "To"),
        ({"start": "2020-01-01", "end": "2025-01-01"}, "To"),
        ({"start": "0001-01-01", "end": "2025-01-01"}, "From"),
        ({"start": "2025-01-01"}, "To"),
        ({**JANUARY, "community": "atlantis"}, "Community"),
        ({**JANUARY, "office": "x" * 300}, "Office"),
        ({**JANUARY, "category": "\x00"}, "Category"),
    ],
)
def test_bad_live_queries_answer_400_naming_the_field(client, items, editor, query, field_label):
    client.force_login(editor)
    response = client.get(reverse("voice:report_live"), query)
    assert response.status_code == 400
    assert f"<li>{field_label}: " in response.content.decode()


# --- a report's page ------------------------------------------------------------------------------


def test_a_report_page_shows_frozen_figures_charts_and_tables(client, items, editor):
    report = make_report(editor, sharing="city", title="City January")
    Item.objects.all().delete()
    client.force_login(editor)
    response = client.get(reverse("voice:report", args=[report.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "City January" in html
    assert html.count("<svg") >= 5
    assert "Print / save as PDF" in html
    assert reverse("voice:report_csv", args=[report.pk]) in html
    assert "Hongqiao Subdistrict" in html
    # The frozen figures: the items are gone, the report still counts them.
    assert "<div><dt>Received</dt><dd>3</dd></div>" in html
    # The theme's name is escaped, in the chart as in the table.
    assert "=HYPERLINK(1)" in html


def test_a_shared_report_from_elsewhere_never_links_into_its_items(client, items, admin_user, coordinator):
    report = make_report(admin_user, sharing="all", title="City for all")
    client.force_login(coordinator)
    response = client.get(reverse("voice:report", args=[report.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Huacao Town" in html
    assert f'href="{reverse("voice:queue")}"' not in html
    assert f'href="{reverse("voice:queue")}?' not in html
    assert not re.search(r"/staff/feedback/\d+/", html)
    # Not the coordinator's to change.
    assert reverse("voice:report_share", args=[report.pk]) not in html


def test_reports_not_shared_with_a_coordinator_are_refused(client, items, admin_user, coordinator):
    private = make_report(admin_user, sharing="private")
    city = make_report(admin_user, sharing="city")
    client.force_login(coordinator)
    for report in (private, city):
        assert client.get(reverse("voice:report", args=[report.pk])).status_code == 403
        assert client.get(reverse("voice:report_csv", args=[report.pk])).status_code == 403


def test_unknown_reports_are_not_found(client, items, editor):
    client.force_login(editor)
    assert client.get(reverse("voice:report", args=[999999])).status_code == 404
    assert client.get(f"/en/staff/feedback/reports/{2**70}/").status_code == 404
    assert client.get(reverse("voice:report_csv", args=[999999])).status_code == 404


def test_changing_the_sharing(client, items, coordinator, community, huacao_coordinator):
    report = make_report(coordinator, community=community)
    client.force_login(coordinator)
    response = client.post(reverse("voice:report_share", args=[report.pk]), {"sharing": "all"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.sharing == "all"
    bad = client.post(reverse("voice:report_share", args=[report.pk]), {"sharing": "world"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    # Another community's coordinator reads it now, but may not change it.
    client.force_login(huacao_coordinator)
    assert client.get(reverse("voice:report", args=[report.pk])).status_code == 200
    assert client.post(reverse("voice:report_share", args=[report.pk]), {"sharing": "private"}).status_code == 403
    assert client.post(reverse("voice:report_delete", args=[report.pk])).status_code == 403
    report.refresh_from_db()
    assert report.sharing == "all"
    # Sharing is changed by POST only.
    assert client.get(reverse("voice:report_share", args=[report.pk])).status_code == 405


def test_deleting_a_report(client, items, coordinator, community):
    report = make_report(coordinator, community=community)
    client.force_login(coordinator)
    response = client.post(reverse("voice:report_delete", args=[report.pk]))
    assert response.status_code == 302
    assert not Report.objects.filter(pk=report.pk).exists()


# --- CSV ------------------------------------------------------------------------------------------


def test_the_figures_as_csv_formula_guarded(client, items, editor):
    report = make_report(editor, title="=SUM(A1)")
    client.force_login(editor)
    response = client.get(reverse("voice:report_csv", args=[report.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Section", "Code", "Name", "Figure", "Value"]
    lines = {(r[0], r[1], r[3]): r[4] for r in rows[1:]}
    assert lines[("Report", "title", "Title")] == "'=SUM(A1)"
    assert lines[("Report", "community", "Community")] == "The whole city"
    assert lines[("Report", "start", "From")] == "2025-01-01"
    assert lines[("Totals", "total", "Received")] == "3"
    assert lines[("Totals", "answered", "Answered")] == "1"
    assert lines[("By community", "hongqiao", "Received")] == "2"
    assert lines[("By community", "huacao", "Received")] == "1"
    assert lines[("By status", "received", "Received")] == "2"
    assert lines[("Trend", "2025-01-10", "Received")] == "1"
    assert lines[("Recurring themes", "hyperlink1", "Items")] == "1"
    # A theme named like a formula is quoted.
    theme_names = [r[2] for r in rows if r[0] == "Recurring themes"]
    assert theme_names == ["'=HYPERLINK(1)"]
