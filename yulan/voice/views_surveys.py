"""Pages of surveys: the open surveys, answering one (signed in, or with an e-mail address and
a link to confirm), and the staff pages to write, open, close and read the results of one."""

import csv
import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from yulan.core import ratelimit
from yulan.core.errors import ApplicationError
from yulan.core.i18n import translations_of
from yulan.core.models import Community
from yulan.core.permissions import Perm, community_scope, require
from yulan.core.spreadsheet import Echo
from yulan.core.views import acting_user, paginate, staff_view
from yulan.voice import charts, surveys
from yulan.voice.forms_surveys import AnswerForm, QuestionForm, SurveyForm
from yulan.voice.models import Survey

# The trend of answers on the results page covers at most this many days.
TREND_DAYS = 90

# --- public -----------------------------------------------------------------------------------


def survey_list(request: HttpRequest) -> HttpResponse:
    return render(request, "voice/surveys/list.html", {"surveys": surveys.surveys_open()[:100]})


def _public_or_404(slug: str) -> Survey:
    survey = surveys.survey_public(slug)
    if survey is None:
        raise Http404
    return survey


def _allowed(request: HttpRequest, email: str) -> bool:
    """Counts one answer from this network address (and e-mail address, if any)."""
    limit = settings.YULAN_FEEDBACK_PER_HOUR
    ok = ratelimit.allow("survey", ratelimit.client_address(request), limit=limit, period_seconds=3600)
    if email:
        ok = ratelimit.allow("survey-email", email.strip().lower(), limit=limit, period_seconds=3600) and ok
    return ok


def survey_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """The survey and its form. A community survey says whom it is for and asks to confirm
    living or working there."""
    survey = _public_or_404(slug)
    user = acting_user(request) if request.user.is_authenticated else None
    state = surveys.answering_state(survey)
    answered = user is not None and surveys.has_answered(survey, user)
    form = AnswerForm(survey=survey, with_email=user is None)
    status = 200
    if request.method == "POST":
        if state != "open" or answered:
            # The page itself explains why (closed, not yet open, already answered).
            status = 409
        else:
            form = AnswerForm(request.POST, survey=survey, with_email=user is None)
            if not _allowed(request, request.POST.get("email", "")):
                form.is_valid()
                form.add_error(None, _("Too many answers from your connection. Please try again in an hour."))
                status = 429
            elif form.is_valid():
                try:
                    result = surveys.response_submit(
                        survey_id=survey.pk,
                        answers=form.answers(),
                        user=user,
                        email=form.cleaned_data.get("email", ""),
                        language=get_language(),
                    )
                except ApplicationError as exc:
                    if exc.status == 409 and user is not None and surveys.has_answered(survey, user):
                        answered = True
                    else:
                        form.add_application_error(exc)
                    status = exc.status if exc.status != 404 else 400
                else:
                    target = redirect("voice:survey_thanks", slug=survey.slug)
                    if not result.counted:
                        target["Location"] += "?sent=1"
                    return target
            else:
                status = 400
    context = {
        "survey": survey,
        "form": form,
        "state": state,
        "answered": answered,
        "has_errors": bool(form.errors),
    }
    return render(request, "voice/surveys/detail.html", context, status=status)


def survey_thanks(request: HttpRequest, slug: str) -> HttpResponse:
    survey = _public_or_404(slug)
    context = {"survey": survey, "sent": request.GET.get("sent") == "1", "days": surveys.CONFIRM_DAYS}
    return render(request, "voice/surveys/thanks.html", context)


def survey_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the e-mail opens a page with a button, so that mail scanners opening every
    link confirm nothing."""
    response = surveys.response_from_token(token)
    survey = response.survey
    if request.method == "POST":
        surveys.response_confirm(response_id=response.pk)
        messages.success(request, _("Your answers are confirmed and counted. Thank you!"))
        return redirect("voice:survey_thanks", slug=survey.slug)
    return render(request, "voice/surveys/confirm.html", {"survey": survey, "response": response})


# --- staff ------------------------------------------------------------------------------------


def _scoped_communities(request: HttpRequest) -> Any:
    scope = community_scope(request.user, Perm.SURVEYS_WRITE)
    return Community.objects.all() if scope is None else Community.objects.filter(pk__in=scope)


def _city_wide(request: HttpRequest) -> bool:
    return community_scope(request.user, Perm.SURVEYS_WRITE) is None


@staff_view
def staff_surveys(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.SURVEYS_WRITE)
    found = surveys.surveys_for_staff(acting_user(request))
    return render(request, "voice/surveys/staff/list.html", {"page": paginate(request, found, 50)})


def _survey_form(request: HttpRequest, data: Any = None, **kwargs: Any) -> SurveyForm:
    return SurveyForm(data, communities=_scoped_communities(request), city_wide=_city_wide(request), **kwargs)


@staff_view
def staff_survey_new(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.SURVEYS_WRITE)
    actor = acting_user(request)
    status = 200
    if request.method == "POST":
        form = _survey_form(request, request.POST)
        if form.is_valid():
            try:
                survey = surveys.survey_create(actor=actor, data=form.survey_input())
            except ApplicationError as exc:
                if exc.status == 403:
                    raise
                form.add_application_error(exc)
            else:
                messages.success(request, _("The survey is saved as a draft. Add its questions, then open it."))
                return redirect("voice:staff_survey", pk=survey.pk)
        status = 400
    else:
        form = _survey_form(request)
    return render(request, "voice/surveys/staff/new.html", {"form": form}, status=status)


def _survey_initial(survey: Survey) -> tuple[dict[str, Any], dict[str, Any]]:
    initial = {
        "slug": survey.slug,
        "community": survey.community_id,
        "opens_at": survey.opens_at,
        "closes_at": survey.closes_at,
    }
    return initial, {name: translations_of(getattr(survey, name)) for name in ("title", "intro")}


@staff_view
def staff_survey(request: HttpRequest, pk: int) -> HttpResponse:
    """A survey's page for staff: its settings, its questions, opening and closing."""
    actor = acting_user(request)
    survey = surveys.survey_for_staff(actor=actor, survey_id=pk)
    initial, translations = _survey_initial(survey)
    form = _survey_form(request, initial=initial, initial_translations=translations)
    question_form = QuestionForm(prefix="question")
    status = 200
    if request.method == "POST":
        action = request.POST.get("form")
        try:
            if action == "survey":
                form = _survey_form(request, request.POST)
                if not form.is_valid():
                    raise ApplicationError(_("Please correct the survey below."))
                surveys.survey_update(actor=actor, survey_id=survey.pk, data=form.survey_input())
                messages.success(request, _("The survey is saved."))
            elif action == "question":
                question_form = QuestionForm(request.POST, prefix="question")
                if not question_form.is_valid():
                    raise ApplicationError(_("Please correct the question below."))
                surveys.question_add(actor=actor, survey_id=survey.pk, data=question_form.question_input())
                messages.success(request, _("The question is added."))
            elif action == "question-delete":
                surveys.question_delete(actor=actor, question_id=int(request.POST.get("question") or 0))
                messages.success(request, _("The question is removed."))
            elif action == "open":
                surveys.survey_open(actor=actor, survey_id=survey.pk)
                messages.success(request, _("The survey is open for answers."))
            elif action == "close":
                surveys.survey_close(actor=actor, survey_id=survey.pk)
                messages.success(request, _("The survey is closed."))
            else:
                raise ApplicationError(_("Choose what to do."))
        except ApplicationError as exc:
            if exc.status == 403:
                raise
            target = question_form if action == "question" else form if action == "survey" else None
            if target is not None and exc.field:
                target.add_application_error(exc)
            else:
                messages.error(request, str(exc.message))
            status = 400 if exc.status in (400, 404) else exc.status
        except ValueError:
            messages.error(request, _("Choose from the list."))
            status = 400
        else:
            return redirect("voice:staff_survey", pk=survey.pk)
        survey.refresh_from_db()
    context = {
        "survey": survey,
        "form": form,
        "question_form": question_form,
        "questions": list(survey.questions.all()),
        "has_responses": survey.responses.exists(),
        "pending": survey.responses.filter(confirmed=False).count(),
        "state": surveys.answering_state(survey),
    }
    return render(request, "voice/surveys/staff/survey.html", context, status=status)


def _trend(per_day: list[tuple[datetime.date, int]]) -> list[tuple[str, float]]:
    """Answers per day from the first to the last day with any (days without answers at 0),
    at most the last TREND_DAYS days."""
    if not per_day:
        return []
    counts = dict(per_day)
    last = per_day[-1][0]
    day = max(per_day[0][0], last - datetime.timedelta(days=TREND_DAYS - 1))
    out: list[tuple[str, float]] = []
    while day <= last:
        out.append((day.isoformat(), counts.get(day, 0)))
        day += datetime.timedelta(days=1)
    return out


@staff_view
def staff_survey_results(request: HttpRequest, pk: int) -> HttpResponse:
    survey = surveys.survey_for_staff(actor=acting_user(request), survey_id=pk)
    found = surveys.results(survey)
    items = []
    for result in found.questions:
        chart = ""
        if result.rows:
            chart = charts.bar_chart(
                [(row.label, row.count) for row in result.rows], title=result.label, max_rows=surveys.MAX_CHOICES
            )
        items.append({"result": result, "chart": chart})
    trend = _trend(found.per_day)
    context = {
        "survey": survey,
        "results": found,
        "items": items,
        "trend": trend,
        "trend_chart": charts.line_chart(trend, title=_("Confirmed answers per day")) if trend else "",
        "pending": survey.responses.filter(confirmed=False).count(),
        "shown": surveys.TEXT_ANSWERS_SHOWN,
    }
    return render(request, "voice/surveys/staff/results.html", context)


@staff_view
def staff_survey_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The confirmed answers as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    survey = surveys.survey_for_staff(actor=acting_user(request), survey_id=pk)
    writer = csv.writer(Echo())
    language = get_language()

    def rows() -> Any:
        yield "\ufeff"
        for line in surveys.csv_rows(survey, language=language):
            yield writer.writerow(line)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.slug}-{stamp}.csv"'
    return response


urlpatterns: list[URLPattern] = [
    path("surveys/", survey_list, name="surveys"),
    path("surveys/confirm/<str:token>/", survey_confirm, name="survey_confirm"),
    path("surveys/<slug:slug>/", survey_detail, name="survey"),
    path("surveys/<slug:slug>/thanks/", survey_thanks, name="survey_thanks"),
    path("staff/surveys/", staff_surveys, name="staff_surveys"),
    path("staff/surveys/new/", staff_survey_new, name="staff_survey_new"),
    path("staff/surveys/<int:pk>/", staff_survey, name="staff_survey"),
    path("staff/surveys/<int:pk>/results/", staff_survey_results, name="staff_survey_results"),
    path("staff/surveys/<int:pk>/responses.csv", staff_survey_csv, name="staff_survey_csv"),
]
