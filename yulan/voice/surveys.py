"""Surveys of research feedback loops: writes and reads.

Staff (`Perm.SURVEYS_WRITE`) write a survey for the whole city or for one community — a
coordinator only for its own community, an editor for any and for the whole city — add its
questions, and open and close it. Every staff write is audited.

Anyone may answer an open survey once: with an account the answers count at once; with an
e-mail address alone they are kept unconfirmed and a link to confirm is mailed, and only
confirmed answers count. Answering again from the same address says nothing on the page about
the earlier answers: the address's owner gets an e-mail instead (at most one an hour).

Answers are stored as `{question id: value}`: a choice's line number, a sorted list of them, a
scale value, or plain text.
"""

import datetime
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yulan.core import signedlinks
from yulan.core.cleaning import clean_language, clean_slug
from yulan.core.errors import ApplicationError
from yulan.core.html import clean_html, strip_html
from yulan.core.i18n import clean_translations, localize
from yulan.core.mail import mail_queue_later
from yulan.core.models import Community, User
from yulan.core.permissions import Perm, community_scope, require, require_for_community
from yulan.core.services import audit_record, snapshot
from yulan.core.spreadsheet import safe_cell
from yulan.news.addresses import clean_address
from yulan.voice.models import Survey, SurveyQuestion, SurveyResponse

MAIL_KIND = "survey"
CONFIRM_PURPOSE = "yulan.voice.survey.confirm"
# How long the link to confirm e-mailed answers works.
CONFIRM_DAYS = 14
TEXT_MAX_CHARS = 2000
SCALE_LOWEST, SCALE_HIGHEST = 0, 10
MAX_CHOICES = 30
# Free-text answers shown on the results page (the CSV has them all).
TEXT_ANSWERS_SHOWN = 200

Kind = SurveyQuestion.Kind
Status = Survey.Status


def _now() -> datetime.datetime:
    return timezone.now()


# --- staff: surveys ------------------------------------------------------------------------------


@dataclass
class SurveyInput:
    slug: str
    title: Any  # {language: text}
    intro: Any = None  # {language: text}; basic HTML
    community_id: int | None = None  # None: the whole city
    opens_at: datetime.datetime | None = None
    closes_at: datetime.datetime | None = None


def _survey_values(data: SurveyInput) -> dict[str, Any]:
    if data.community_id is not None and not Community.objects.filter(pk=data.community_id).exists():
        raise ApplicationError(_("Choose a community from the list."), field="community")
    if data.opens_at and data.closes_at and data.closes_at <= data.opens_at:
        raise ApplicationError(_("The survey must close after it opens."), field="closes_at")
    return {
        "slug": clean_slug(data.slug),
        "title": {
            code: " ".join(strip_html(text).split())
            for code, text in clean_translations(data.title, field="title", max_chars=300).items()
        },
        "intro": {
            code: clean_html(text)
            for code, text in clean_translations(data.intro, field="intro", required=False).items()
        },
        "community_id": data.community_id,
        "opens_at": data.opens_at,
        "closes_at": data.closes_at,
    }


def _require_scope(actor: User, community_id: int | None) -> None:
    """Editors run surveys anywhere and for the whole city; a coordinator only its community's."""
    require(actor, Perm.SURVEYS_WRITE)
    require_for_community(actor, Perm.SURVEYS_WRITE, community_id)


def survey_for_staff(*, actor: User, survey_id: int) -> Survey:
    """A survey the actor may manage; 404 if there is none, 403 outside the actor's scope."""
    survey = Survey.objects.select_related("community").filter(pk=survey_id).first()
    if survey is None:
        raise ApplicationError(_("There is no such survey."), status=404)
    _require_scope(actor, survey.community_id)
    return survey


def _lock(survey_id: int) -> Survey:
    survey = Survey.objects.select_for_update().filter(pk=survey_id).first()
    if survey is None:
        raise ApplicationError(_("There is no such survey."), status=404)
    return survey


def survey_create(*, actor: User, data: SurveyInput) -> Survey:
    values = _survey_values(data)
    _require_scope(actor, values["community_id"])
    try:
        with transaction.atomic(durable=True):
            survey = Survey.objects.create(**values, created_by=actor)
            audit_record(actor=actor, action="survey.create", target=survey, after=snapshot(survey))
    except IntegrityError:
        raise ApplicationError(_("A survey with this address already exists."), field="slug") from None
    return survey


def survey_update(*, actor: User, survey_id: int, data: SurveyInput) -> Survey:
    """Change a survey's texts, audience or dates. Moving it to another community needs the
    right for both."""
    values = _survey_values(data)
    _require_scope(actor, values["community_id"])
    try:
        with transaction.atomic(durable=True):
            survey = _lock(survey_id)
            _require_scope(actor, survey.community_id)
            before = snapshot(survey)
            for key, value in values.items():
                setattr(survey, key, value)
            survey.save()
            audit_record(actor=actor, action="survey.update", target=survey, before=before, after=snapshot(survey))
    except IntegrityError:
        raise ApplicationError(_("A survey with this address already exists."), field="slug") from None
    return survey


def survey_open(*, actor: User, survey_id: int) -> Survey:
    """Open a draft (or reopen a closed survey) for answers. A survey without questions stays
    a draft."""
    with transaction.atomic(durable=True):
        survey = _lock(survey_id)
        _require_scope(actor, survey.community_id)
        if survey.status == Status.OPEN:
            raise ApplicationError(_("This survey is already open."), status=409)
        if not survey.questions.exists():
            raise ApplicationError(_("Add at least one question before opening the survey."), status=409)
        if survey.closes_at is not None and survey.closes_at <= _now():
            raise ApplicationError(
                _("The closing date has passed: change it before opening the survey."), field="closes_at", status=409
            )
        before = snapshot(survey)
        survey.status = Status.OPEN
        survey.save(update_fields=["status"])
        audit_record(actor=actor, action="survey.open", target=survey, before=before, after=snapshot(survey))
    return survey


def survey_close(*, actor: User, survey_id: int) -> Survey:
    with transaction.atomic(durable=True):
        survey = _lock(survey_id)
        _require_scope(actor, survey.community_id)
        if survey.status != Status.OPEN:
            raise ApplicationError(_("Only an open survey can be closed."), status=409)
        before = snapshot(survey)
        survey.status = Status.CLOSED
        survey.save(update_fields=["status"])
        audit_record(actor=actor, action="survey.close", target=survey, before=before, after=snapshot(survey))
    return survey


# --- staff: questions ----------------------------------------------------------------------------


@dataclass
class QuestionInput:
    label: Any  # {language: text}
    kind: str = Kind.SINGLE
    required: bool = False
    choices: Any = None  # {language: "one choice\na line"}
    scale_min: int = 1
    scale_max: int = 5


def _question_values(data: QuestionInput) -> dict[str, Any]:
    label = {
        code: " ".join(strip_html(text).split())
        for code, text in clean_translations(data.label, field="label", max_chars=300).items()
    }
    if data.kind not in Kind.values:
        raise ApplicationError(_("Choose a kind of answer from the list."), field="kind")
    values: dict[str, Any] = {
        "label": label,
        "kind": data.kind,
        "required": bool(data.required),
        "choices": {},
        "scale_min": 1,
        "scale_max": 5,
    }
    if data.kind in (Kind.SINGLE, Kind.MULTIPLE):
        choices = {
            code: "\n".join(" ".join(strip_html(line).split()) for line in text.splitlines() if line.strip())
            for code, text in clean_translations(data.choices, field="choices", required=False, max_chars=4000).items()
        }
        counts = {len(text.splitlines()) for text in choices.values()}
        if not choices or min(counts) < 2:
            raise ApplicationError(_("List at least two choices, one a line."), field="choices")
        if len(counts) > 1:
            raise ApplicationError(_("Give the same number of choices in every language."), field="choices")
        if max(counts) > MAX_CHOICES:
            raise ApplicationError(_("Give at most %(n)d choices.") % {"n": MAX_CHOICES}, field="choices")
        values["choices"] = choices
    elif data.kind == Kind.SCALE:
        try:
            low, high = int(data.scale_min), int(data.scale_max)
        except (TypeError, ValueError):
            raise ApplicationError(_("Enter whole numbers for the scale."), field="scale_min") from None
        if not (SCALE_LOWEST <= low <= SCALE_HIGHEST):
            raise ApplicationError(
                _("The scale must run within %(low)d to %(high)d.") % {"low": SCALE_LOWEST, "high": SCALE_HIGHEST},
                field="scale_min",
            )
        if not (SCALE_LOWEST <= high <= SCALE_HIGHEST):
            raise ApplicationError(
                _("The scale must run within %(low)d to %(high)d.") % {"low": SCALE_LOWEST, "high": SCALE_HIGHEST},
                field="scale_max",
            )
        if low >= high:
            raise ApplicationError(_("The highest value must be above the lowest."), field="scale_max")
        values["scale_min"], values["scale_max"] = low, high
    return values


def _require_no_answers(survey: Survey) -> None:
    """Answers refer to questions and choices by number: once anyone has answered, changing
    them would change what the answers say."""
    if survey.responses.exists():
        raise ApplicationError(_("This survey already has answers: its questions can no longer change."), status=409)


def question_add(*, actor: User, survey_id: int, data: QuestionInput) -> SurveyQuestion:
    values = _question_values(data)
    with transaction.atomic(durable=True):
        survey = _lock(survey_id)
        _require_scope(actor, survey.community_id)
        _require_no_answers(survey)
        last = survey.questions.order_by("-position").values_list("position", flat=True).first()
        question = SurveyQuestion.objects.create(survey=survey, position=(last or 0) + 1, **values)
        audit_record(actor=actor, action="survey.question.add", target=question, after=snapshot(question))
    return question


def _question(question_id: int) -> SurveyQuestion:
    question = SurveyQuestion.objects.filter(pk=question_id).first()
    if question is None:
        raise ApplicationError(_("There is no such question."), status=404)
    return question


def question_update(*, actor: User, question_id: int, data: QuestionInput) -> SurveyQuestion:
    values = _question_values(data)
    question = _question(question_id)
    with transaction.atomic(durable=True):
        survey = _lock(question.survey_id)
        _require_scope(actor, survey.community_id)
        _require_no_answers(survey)
        question = SurveyQuestion.objects.select_for_update().get(pk=question_id)
        before = snapshot(question)
        for key, value in values.items():
            setattr(question, key, value)
        question.save()
        audit_record(
            actor=actor, action="survey.question.update", target=question, before=before, after=snapshot(question)
        )
    return question


def question_delete(*, actor: User, question_id: int) -> None:
    question = _question(question_id)
    with transaction.atomic(durable=True):
        survey = _lock(question.survey_id)
        _require_scope(actor, survey.community_id)
        _require_no_answers(survey)
        audit_record(actor=actor, action="survey.question.delete", target=question, before=snapshot(question))
        question.delete()


# --- reads ---------------------------------------------------------------------------------------


def _open_now(now: datetime.datetime) -> Q:
    return (
        Q(status=Status.OPEN)
        & (Q(opens_at__isnull=True) | Q(opens_at__lte=now))
        & (Q(closes_at__isnull=True) | Q(closes_at__gt=now))
    )


def surveys_open(*, community: Community | None = None) -> QuerySet[Survey]:
    """Surveys that take answers now, the ones closing soonest first."""
    found = Survey.objects.filter(_open_now(_now())).select_related("community")
    if community is not None:
        found = found.filter(community=community)
    return found.order_by(F("closes_at").asc(nulls_last=True), "-created_at")


def survey_public(slug: str) -> Survey | None:
    """A survey anyone may see: open (even if not yet or no longer taking answers) or closed.
    Drafts are not public."""
    return (
        Survey.objects.filter(slug=slug, status__in=[Status.OPEN, Status.CLOSED])
        .select_related("community")
        .prefetch_related("questions")
        .first()
    )


def surveys_for_staff(user: User) -> QuerySet[Survey]:
    found = Survey.objects.select_related("community")
    scope = community_scope(user, Perm.SURVEYS_WRITE)
    if scope is not None:
        found = found.filter(community_id__in=sorted(scope))
    return found


def answering_state(survey: Survey, now: datetime.datetime | None = None) -> str:
    """ "open", "not_yet", "closed" or "draft"."""
    now = now or _now()
    if survey.status == Status.DRAFT:
        return "draft"
    if survey.status == Status.CLOSED or (survey.closes_at is not None and survey.closes_at <= now):
        return "closed"
    if survey.opens_at is not None and survey.opens_at > now:
        return "not_yet"
    return "open"


def has_answered(survey: Survey, user: User) -> bool:
    return SurveyResponse.objects.filter(survey=survey, user=user, confirmed=True).exists()


def survey_title(survey: Survey, language: str | None = None) -> str:
    return localize(survey.title, language).text


# --- answering -----------------------------------------------------------------------------------


def _choice_number(value: Any, count: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if 0 <= number < count else None


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or (isinstance(value, str) and not value.strip())


def clean_answers(survey: Survey, answers: dict[Any, Any]) -> dict[str, Any]:
    """Check every answer against its question; the first mistake raises ApplicationError
    naming the form field "q<id>"."""
    given = {str(key).removeprefix("q"): value for key, value in (answers or {}).items()}
    cleaned: dict[str, Any] = {}
    for question in survey.questions.all():
        key = str(question.pk)
        field_name = f"q{key}"
        value = given.get(key)
        if isinstance(value, list | tuple) and question.kind != Kind.MULTIPLE:
            value = value[0] if len(value) == 1 else (value or None)
        if _is_blank(value):
            if question.required:
                raise ApplicationError(_("Please answer this question."), field=field_name)
            continue
        if question.kind == Kind.SINGLE:
            number = _choice_number(value, len(question.choice_list()))
            if number is None:
                raise ApplicationError(_("Choose an answer from the list."), field=field_name)
            cleaned[key] = number
        elif question.kind == Kind.MULTIPLE:
            count = len(question.choice_list())
            items = value if isinstance(value, list | tuple) else [value]
            numbers = {_choice_number(item, count) for item in items if not _is_blank(item)}
            if None in numbers:
                raise ApplicationError(_("Choose answers from the list."), field=field_name)
            if not numbers:
                if question.required:
                    raise ApplicationError(_("Please answer this question."), field=field_name)
                continue
            cleaned[key] = sorted(n for n in numbers if n is not None)
        elif question.kind == Kind.SCALE:
            number = _choice_number(value, SCALE_HIGHEST + 1)
            if number is None or not question.scale_min <= number <= question.scale_max:
                raise ApplicationError(
                    _("Choose a value from %(low)d to %(high)d.")
                    % {"low": question.scale_min, "high": question.scale_max},
                    field=field_name,
                )
            cleaned[key] = number
        else:
            if not isinstance(value, str):
                raise ApplicationError(_("Write your answer as text."), field=field_name)
            text = strip_html(value).replace("\r\n", "\n").strip()
            if len(text) > TEXT_MAX_CHARS:
                raise ApplicationError(
                    _("Please keep the answer under %(limit)d characters (this is %(length)d).")
                    % {"limit": TEXT_MAX_CHARS, "length": len(text)},
                    field=field_name,
                )
            if not text:
                if question.required:
                    raise ApplicationError(_("Please answer this question."), field=field_name)
                continue
            cleaned[key] = text
    return cleaned


@dataclass(frozen=True)
class SubmitResult:
    response: SurveyResponse
    # True: the answers count now (an account); False: they wait for the e-mailed link. An
    # e-mail submission always looks the same to the page, whatever the address did before.
    counted: bool


def _check_answerable(survey: Survey) -> None:
    state = answering_state(survey)
    if state == "draft":
        raise ApplicationError(_("There is no such survey."), status=404)
    if state == "closed":
        raise ApplicationError(_("This survey has closed. Thank you for your interest."), status=409)
    if state == "not_yet":
        raise ApplicationError(_("This survey is not open yet."), status=409)


def _queue_notice(response: SurveyResponse, notice: str, now: datetime.datetime) -> None:
    mail_queue_later(
        kind=MAIL_KIND,
        to=response.email,
        language=response.language,
        context={"notice": notice, "response": response.pk},
        # At most one e-mail an hour per response, however often the form is sent.
        key=f"survey:{response.pk}:{now:%Y%m%d%H}",
    )


def response_submit(
    *, survey_id: int, answers: dict[Any, Any], user: User | None = None, email: str = "", language: str = "en"
) -> SubmitResult:
    """Answer a survey: once per account, or once per e-mail address confirmed by a link."""
    survey = Survey.objects.filter(pk=survey_id).prefetch_related("questions").first()
    if survey is None:
        raise ApplicationError(_("There is no such survey."), status=404)
    _check_answerable(survey)
    cleaned = clean_answers(survey, answers)
    language = clean_language(language, field="language")
    if user is not None and not user.is_authenticated:
        user = None
    address = user.email.strip().lower() if user is not None else clean_address(email, field="email")
    with transaction.atomic(durable=True):
        survey = _lock(survey_id)
        _check_answerable(survey)
        now = _now()
        if user is not None:
            who = Q(user=user) | Q(email=address) if address else Q(user=user)
            mine = list(SurveyResponse.objects.select_for_update().filter(who, survey=survey))
            if any(r.confirmed for r in mine):
                raise ApplicationError(_("You have already answered this survey. Thank you!"), status=409)
            # An account proves its address: it takes over answers still waiting for the link.
            response = next((r for r in mine if address and r.email == address), None) or SurveyResponse(survey=survey)
            response.user, response.email, response.language = user, address, language
            response.answers, response.confirmed, response.created_at = cleaned, True, now
            response.save()
            Survey.objects.filter(pk=survey.pk).update(responses_count=F("responses_count") + 1)
            return SubmitResult(response, counted=True)
        existing = SurveyResponse.objects.select_for_update().filter(survey=survey, email=address).first()
        if existing is None:
            response = SurveyResponse.objects.create(
                survey=survey, email=address, language=language, answers=cleaned, confirmed=False, created_at=now
            )
            _queue_notice(response, "confirm", now)
        elif not existing.confirmed:
            # The latest answers are the ones the link confirms; the link is sent again.
            existing.answers, existing.language, existing.created_at = cleaned, language, now
            existing.save(update_fields=["answers", "language", "created_at"])
            response = existing
            _queue_notice(response, "confirm", now)
        else:
            response = existing
            _queue_notice(response, "already", now)
    return SubmitResult(response, counted=False)


def response_confirm(*, response_id: int) -> SurveyResponse:
    """The e-mailed link was opened (and its button pressed): the answers count from now.
    Opening it again changes nothing. Answers given while the survey was open count even if
    it has closed since."""
    with transaction.atomic(durable=True):
        response = SurveyResponse.objects.select_for_update().filter(pk=response_id).first()
        if response is None:
            raise ApplicationError(_("There is no such answer."), status=404)
        if not response.confirmed:
            response.confirmed = True
            response.save(update_fields=["confirmed"])
            Survey.objects.filter(pk=response.survey_id).update(responses_count=F("responses_count") + 1)
    return response


def confirmed_responses(survey: Survey) -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(survey=survey, confirmed=True)


# --- results -------------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    count: int
    percent: float  # of the respondents who answered the question


@dataclass
class QuestionResult:
    question: SurveyQuestion
    label: str
    kind: str
    answered: int  # respondents who answered it
    rows: list[Row] = field(default_factory=list)  # choices, or scale values
    mean: float | None = None
    median: float | None = None
    texts: list[tuple[datetime.datetime, str, str]] = field(default_factory=list)  # (when, language, text)
    texts_total: int = 0


@dataclass
class Results:
    survey: Survey
    respondents: int  # confirmed responses
    questions: list[QuestionResult]
    per_day: list[tuple[datetime.date, int]]


def _percent(count: int, of: int) -> float:
    return round(100 * count / of, 1) if of else 0.0


def results(survey: Survey, *, language: str | None = None) -> Results:
    """The confirmed answers counted per question: each choice's count and share of those who
    answered (a multiple-choice question's shares may add up to more than 100 %), the spread of
    a scale with its mean and median, and the free-text answers, latest first."""
    questions = list(survey.questions.all())
    choice_counts: dict[int, Counter[int]] = {q.pk: Counter() for q in questions}
    scale_values: dict[int, list[int]] = {q.pk: [] for q in questions}
    texts: dict[int, list[tuple[datetime.datetime, str, str]]] = {q.pk: [] for q in questions}
    answered: Counter[int] = Counter()
    per_day: Counter[datetime.date] = Counter()
    respondents = 0
    rows = confirmed_responses(survey).order_by("-created_at", "-id").values_list("answers", "created_at", "language")
    for answers, created_at, response_language in rows.iterator(chunk_size=1000):
        respondents += 1
        per_day[timezone.localdate(created_at)] += 1
        for question in questions:
            value = answers.get(str(question.pk)) if isinstance(answers, dict) else None
            if _is_blank(value):
                continue
            answered[question.pk] += 1
            if question.kind == Kind.SINGLE and isinstance(value, int):
                choice_counts[question.pk][value] += 1
            elif question.kind == Kind.MULTIPLE and isinstance(value, list):
                choice_counts[question.pk].update(v for v in set(value) if isinstance(v, int))
            elif question.kind == Kind.SCALE and isinstance(value, int):
                scale_values[question.pk].append(value)
            elif question.kind == Kind.TEXT and isinstance(value, str):
                texts[question.pk].append((created_at, response_language, value))
    out = []
    for question in questions:
        n = answered[question.pk]
        result = QuestionResult(
            question=question, label=localize(question.label, language).text, kind=question.kind, answered=n
        )
        if question.kind in (Kind.SINGLE, Kind.MULTIPLE):
            counts = choice_counts[question.pk]
            result.rows = [
                Row(label, counts[i], _percent(counts[i], n)) for i, label in enumerate(question.choice_list(language))
            ]
        elif question.kind == Kind.SCALE:
            values = scale_values[question.pk]
            counts = Counter(values)
            result.rows = [
                Row(str(v), counts[v], _percent(counts[v], n))
                for v in range(question.scale_min, question.scale_max + 1)
            ]
            if values:
                result.mean = round(statistics.fmean(values), 2)
                result.median = float(statistics.median(values))
        else:
            result.texts_total = len(texts[question.pk])
            result.texts = texts[question.pk][:TEXT_ANSWERS_SHOWN]
        out.append(result)
    return Results(survey=survey, respondents=respondents, questions=out, per_day=sorted(per_day.items()))


# --- CSV export ----------------------------------------------------------------------------------


def csv_rows(survey: Survey, *, language: str | None = None) -> Iterator[list[str]]:
    """The header, then one row per confirmed response (oldest first): when, the language it
    was answered in, and one column per question (choices by their text). No names or
    addresses: the export is for analysis."""
    questions = list(survey.questions.all())
    choices = {q.pk: q.choice_list(language) for q in questions if q.kind in (Kind.SINGLE, Kind.MULTIPLE)}

    def text_of(question: SurveyQuestion, value: Any) -> str:
        if _is_blank(value):
            return ""
        if question.pk in choices:
            names = choices[question.pk]
            numbers = value if isinstance(value, list) else [value]
            return "; ".join(names[v] if isinstance(v, int) and 0 <= v < len(names) else str(v) for v in numbers)
        return str(value)

    header = [_("Response"), _("Answered at"), _("Language")]
    header += [localize(q.label, language).text for q in questions]
    yield [safe_cell(v) for v in header]
    rows = confirmed_responses(survey).order_by("created_at", "id")
    for n, response in enumerate(rows.iterator(chunk_size=500), start=1):
        answers = response.answers if isinstance(response.answers, dict) else {}
        line: list[Any] = [n, timezone.localtime(response.created_at).strftime("%Y-%m-%d %H:%M"), response.language]
        line += [text_of(q, answers.get(str(q.pk))) for q in questions]
        yield [safe_cell(v) for v in line]


# --- confirmation links --------------------------------------------------------------------------


def confirm_token(response: SurveyResponse) -> str:
    return signedlinks.make(response, CONFIRM_PURPOSE)


def response_from_token(token: str) -> SurveyResponse:
    return signedlinks.read(
        SurveyResponse,
        token,
        CONFIRM_PURPOSE,
        max_age=CONFIRM_DAYS * 24 * 3600,
        expired=_("This link has expired. Please answer the survey again."),
    )
