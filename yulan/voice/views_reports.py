"""Staff pages of the feedback reports: the reports one may read (its own scope's, and those
shared with it), a new report, live figures, a report's page with its charts and tables, its
sharing, and its figures as CSV.

A report's page shows only the figures frozen in it: nothing on it leads into the items of
another community. Who may do what is decided in `voice.reports`."""

import csv
import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize
from yulan.core.permissions import Perm, require
from yulan.core.spreadsheet import safe_cell
from yulan.core.views import acting_user, staff_view
from yulan.voice import charts, reports
from yulan.voice.forms_reports import WHOLE_CITY, ReportForm, ScopeForm, ShareForm
from yulan.voice.models import Item, Report

Status = Item.Status


# --- figures for reading ------------------------------------------------------------------------


@dataclass
class Row:
    """One line of a breakdown, named in the reader's language."""

    code: str
    name: str
    count: int = 0
    answered: int = 0
    within_target: int = 0
    open: int = 0
    overdue: int = 0
    statuses: list[int] = field(default_factory=list)


@dataclass
class TrendPoint:
    start: str  # the first day, as an ISO date
    short: str  # for the chart
    name: str  # for the table
    received: int
    answered: int


@dataclass
class Figures:
    """A report's figures ready for a page, a chart or a file."""

    data: dict[str, Any]
    headline: list[tuple[str, str, Any]]
    statuses: list[tuple[str, str, int]]
    communities: list[Row]
    categories: list[Row]
    offices: list[Row]
    trend: list[TrendPoint]
    trend_step: str
    themes: list[tuple[str, str, int]]
    time_in_status: list[tuple[str, str, float | None, int]]
    scope: list[tuple[str, str, str]]
    status_labels: list[str]
    charts: dict[str, Any] = field(default_factory=dict)


def _name(names: dict[str, Any], slug: str | None, missing: str) -> str:
    if slug is None:
        return missing
    return localize(names.get(slug) or {}).text or slug


def _status_label(code: str) -> str:
    return str(Status(code).label) if code in Status.values else code


def _hours_text(value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(hours)s h") % {"hours": formats.number_format(value, 1, use_l10n=True)}


def _share_text(value: float | None) -> str:
    if value is None:
        return "—"
    return formats.number_format(value * 100, 0, use_l10n=True) + "%"


def _rows(data: dict[str, Any], key: str, names: dict[str, Any], missing: str) -> list[Row]:
    out = []
    for raw in data.get(key, []):
        out.append(
            Row(
                code=raw.get("slug") or "",
                name=_name(names, raw.get("slug"), missing),
                count=raw.get("count", 0),
                answered=raw.get("answered", 0),
                within_target=raw.get("within_target", 0),
                open=raw.get("open", 0),
                overdue=raw.get("overdue", 0),
                statuses=[raw.get("statuses", {}).get(code, 0) for code in Status.values],
            )
        )
    return out


def _trend_names(day: datetime.date, step: str) -> tuple[str, str]:
    """(short label for the chart, full name for the table)."""
    if step == "month":
        return formats.date_format(day, "M Y"), formats.date_format(day, "YEAR_MONTH_FORMAT")
    if step == "week":
        full = _("Week from %(day)s") % {"day": formats.date_format(day, "DATE_FORMAT")}
        return formats.date_format(day, "j M"), full
    return formats.date_format(day, "j M"), formats.date_format(day, "DATE_FORMAT")


def figures(data: dict[str, Any]) -> Figures:
    """Names in the reader's language, numbers for display, and the charts."""
    names = data.get("names", {})
    scope_data = data.get("scope", {})
    scope: list[tuple[str, str, str]] = []
    community = scope_data.get("community")
    scope.append(("community", _("Community"), localize(community["name"]).text if community else _("The whole city")))
    if scope_data.get("office"):
        scope.append(("office", _("Office"), localize(scope_data["office"]["name"]).text))
    if scope_data.get("category"):
        scope.append(("category", _("Category"), localize(scope_data["category"]["name"]).text))
    response = data.get("response_hours", {})
    target = data.get("within_target", {})
    headline: list[tuple[str, str, Any]] = [
        ("total", _("Received"), data.get("total", 0)),
        ("answered", _("Answered"), data.get("answered", 0)),
        ("open", _("Open now"), data.get("open", 0)),
        ("overdue", _("Overdue now"), data.get("overdue", 0)),
        ("median_hours", _("Median time to answer"), _hours_text(response.get("median"))),
        ("p90_hours", _("Time to answer, 90% within"), _hours_text(response.get("p90"))),
        ("within_target", _("Answered within the target"), _share_text(target.get("share"))),
        ("supporters", _("Supporters"), data.get("supporters", 0)),
    ]
    statuses = [(row["status"], _status_label(row["status"]), row["count"]) for row in data.get("by_status", [])]
    step = data.get("trend", {}).get("step", "month")
    trend = []
    for point in data.get("trend", {}).get("points", []):
        short, full = _trend_names(datetime.date.fromisoformat(point["start"]), step)
        trend.append(TrendPoint(point["start"], short, full, point["received"], point["answered"]))
    result = Figures(
        data=data,
        headline=headline,
        statuses=statuses,
        communities=_rows(data, "by_community", names.get("communities", {}), _("No community given")),
        categories=_rows(data, "by_category", names.get("categories", {}), _("Unknown category")),
        offices=_rows(data, "by_office", names.get("offices", {}), _("Not routed to an office")),
        trend=trend,
        trend_step=step,
        themes=[(t["slug"], t["name"], t["count"]) for t in data.get("themes", [])],
        time_in_status=[
            (row["status"], _status_label(row["status"]), row["hours"], row["spans"])
            for row in data.get("time_in_status", [])
        ],
        scope=scope,
        status_labels=[_status_label(code) for code in Status.values],
    )
    status_labels = result.status_labels
    step_titles = {
        "day": _("Received per day"),
        "week": _("Received per week"),
        "month": _("Received per month"),
    }
    result.charts = {
        "statuses": charts.stacked_bar(
            [
                (row.name, [(label, n) for label, n in zip(status_labels, row.statuses, strict=True) if n])
                for row in result.communities
            ],
            title=_("Items by community and status"),
        ),
        "categories": charts.bar_chart([(r.name, r.count) for r in result.categories], title=_("Items by category")),
        "offices": charts.bar_chart([(r.name, r.count) for r in result.offices], title=_("Items by office")),
        "trend": charts.line_chart([(p.short, p.received) for p in trend], title=step_titles[step]),
        "themes": charts.bar_chart([(name, n) for _slug, name, n in result.themes], title=_("Recurring themes")),
        "time_in_status": charts.bar_chart(
            [(label, hours or 0) for _code, label, hours, _n in result.time_in_status],
            title=_("Average time in each status"),
            unit=pgettext("hours", "h"),
        ),
    }
    return result


# --- pages ----------------------------------------------------------------------------------------


def _scope_initial(scope: frozenset[int] | None) -> dict[str, Any]:
    """This month so far, for the user's community (or the whole city)."""
    from yulan.core.models import Community

    today = timezone.localdate()
    community = WHOLE_CITY
    if scope:
        first = Community.objects.filter(pk__in=sorted(scope)).order_by("slug").first()
        community = first.slug if first else WHOLE_CITY
    return {"start": today.replace(day=1).isoformat(), "end": today.isoformat(), "community": community}


@staff_view
def report_list(request: HttpRequest) -> HttpResponse:
    """The reports the user may read, its own and those shared with it, and a new one."""
    actor = acting_user(request)
    require(actor, Perm.FEEDBACK_REPORTS)
    scope = reports.report_scope(actor)
    status = 200
    if request.method == "POST":
        form = ReportForm(request.POST, scope=scope)
        status = 400
        if form.is_valid():
            try:
                report = reports.report_create(
                    actor=actor,
                    title=form.cleaned_data["title"],
                    sharing=form.cleaned_data["sharing"],
                    **form.scope_arguments(),
                )
            except ApplicationError as exc:
                if exc.status == 403:
                    raise
                form.add_application_error(exc)
            else:
                messages.success(request, _("The report is made: its figures are kept as they are now."))
                return redirect("voice:report", pk=report.pk)
    else:
        form = ReportForm(initial=_scope_initial(scope), scope=scope)
    context = {
        "form": form,
        "grouped": reports.reports_grouped(actor),
        "live_query": _scope_initial(scope),
        "city_wide": scope is None,
    }
    return render(request, "voice/reports/list.html", context, status=status)


@staff_view
def report_live(request: HttpRequest) -> HttpResponse:
    """The figures of a period computed now, not kept."""
    actor = acting_user(request)
    require(actor, Perm.FEEDBACK_REPORTS)
    scope = reports.report_scope(actor)
    form = ScopeForm(request.GET or _scope_initial(scope), scope=scope)
    context: dict[str, Any] = {"form": form, "report": None, "live": True}
    status = 200
    if form.is_valid():
        try:
            data = reports.report_live(actor=actor, **form.scope_arguments())
        except ApplicationError as exc:
            if exc.status == 403:
                raise
            form.add_application_error(exc)
            status = 400
        else:
            context["figures"] = figures(data)
            context["period"] = _period(data)
    else:
        status = 400
    return render(request, "voice/reports/report.html", context, status=status)


def _period(data: dict[str, Any]) -> dict[str, datetime.date]:
    return {
        "start": datetime.date.fromisoformat(data["period"]["start"]),
        "end": datetime.date.fromisoformat(data["period"]["end"]),
    }


def _report_page(request: HttpRequest, report: Report, share_form: ShareForm, status: int = 200) -> HttpResponse:
    actor = acting_user(request)
    context = {
        "report": report,
        "live": False,
        "figures": figures(report.data),
        "period": {"start": report.period_start, "end": report.period_end},
        "share_form": share_form,
        "may_manage": reports.may_manage(actor, report),
        "ours": reports.is_ours(actor, report),
    }
    return render(request, "voice/reports/report.html", context, status=status)


@staff_view
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = reports.report_get(actor=acting_user(request), report_id=pk)
    return _report_page(request, report, ShareForm(initial={"sharing": report.sharing}))


@staff_view
@require_POST
def report_share(request: HttpRequest, pk: int) -> HttpResponse:
    actor = acting_user(request)
    report = reports.report_get(actor=actor, report_id=pk)
    form = ShareForm(request.POST)
    if form.is_valid():
        try:
            reports.report_share(actor=actor, report_id=report.pk, sharing=form.cleaned_data["sharing"])
        except ApplicationError as exc:
            if exc.status == 403:
                raise
            form.add_error("sharing", str(exc.message))
        else:
            messages.success(request, _("Who the report is shared with is changed."))
            return redirect("voice:report", pk=report.pk)
    return _report_page(request, report, form, status=400)


@staff_view
@require_POST
def report_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = acting_user(request)
    report = reports.report_get(actor=actor, report_id=pk)
    reports.report_delete(actor=actor, report_id=report.pk)
    messages.success(request, _("The report is deleted."))
    return redirect("voice:reports")


def figure_lines(report: Report, shown: Figures) -> list[list[Any]]:
    """The report's figures, one per line: section, code, name, figure, value."""
    data = shown.data
    response = data.get("response_hours", {})
    target = data.get("within_target", {})
    section_report, section_all = _("Report"), _("Totals")
    lines: list[list[Any]] = [
        [section_report, "title", report.title, _("Title"), report.title],
        [section_report, "start", "", _("From"), report.period_start.isoformat()],
        [section_report, "end", "", _("To"), report.period_end.isoformat()],
        [section_report, "time_zone", "", _("Time zone"), data.get("time_zone", "")],
        [section_report, "computed_at", "", _("Computed"), data.get("computed_at", "")],
    ]
    lines += [[section_report, code, "", label, value] for code, label, value in shown.scope]
    lines += [
        [section_all, "total", "", _("Received"), data.get("total", 0)],
        [section_all, "answered", "", _("Answered"), data.get("answered", 0)],
        [section_all, "open", "", _("Open now"), data.get("open", 0)],
        [section_all, "overdue", "", _("Overdue now"), data.get("overdue", 0)],
        [section_all, "supporters", "", _("Supporters"), data.get("supporters", 0)],
        [section_all, "median_hours", "", _("Median hours to answer"), response.get("median")],
        [section_all, "p90_hours", "", _("Hours to answer, 90% within"), response.get("p90")],
        [section_all, "within_target", "", _("Answered within the target"), target.get("count")],
        [section_all, "within_target_of", "", _("Items the target applies to"), target.get("of")],
        [section_all, "within_target_share", "", _("Share answered within the target"), target.get("share")],
    ]
    section = _("By status")
    lines += [[section, code, label, _("Received"), n] for code, label, n in shown.statuses]
    measures = [
        ("count", _("Received")),
        ("answered", _("Answered")),
        ("within_target", _("Answered within the target")),
        ("open", _("Open now")),
        ("overdue", _("Overdue now")),
    ]
    for section, rows in (
        (_("By community"), shown.communities),
        (_("By category"), shown.categories),
        (_("By office"), shown.offices),
    ):
        for row in rows:
            lines += [[section, row.code, row.name, label, getattr(row, attr)] for attr, label in measures]
    section = _("Trend")
    for point in shown.trend:
        lines.append([section, point.start, point.name, _("Received"), point.received])
        lines.append([section, point.start, point.name, _("Answered"), point.answered])
    section = _("Recurring themes")
    lines += [[section, slug, name, _("Items"), n] for slug, name, n in shown.themes]
    section = _("Average time in each status")
    for code, label, hours, spans in shown.time_in_status:
        lines.append([section, code, label, _("Hours"), hours])
        lines.append([section, code, label, _("Stretches"), spans])
    return lines


@staff_view
def report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The report's figures as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    report = reports.report_get(actor=acting_user(request), report_id=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="feedback-report-{report.pk}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([safe_cell(v) for v in (_("Section"), _("Code"), _("Name"), _("Figure"), _("Value"))])
    for line in figure_lines(report, figures(report.data)):
        writer.writerow([safe_cell(v) for v in line])
    return response


urlpatterns: list[URLPattern] = [
    path("staff/feedback/reports/", report_list, name="reports"),
    path("staff/feedback/reports/live/", report_live, name="report_live"),
    path("staff/feedback/reports/<int:pk>/", report_detail, name="report"),
    path("staff/feedback/reports/<int:pk>/sharing/", report_share, name="report_share"),
    path("staff/feedback/reports/<int:pk>/delete/", report_delete, name="report_delete"),
    path("staff/feedback/reports/<int:pk>/figures.csv", report_csv, name="report_csv"),
]
