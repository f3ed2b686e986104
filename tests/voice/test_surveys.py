import datetime
import re
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from yulan.core.errors import ApplicationError
from yulan.core.mail import outbox_deliver
from yulan.core.models import AuditEntry, User
from yulan.core.spreadsheet import safe_cell
from yulan.voice import surveys
from yulan.voice.models import Survey, SurveyQuestion, SurveyResponse

Kind = SurveyQuestion.Kind


def make_survey(actor, community=None, *, slug="centre-hours", open_it=True, **extra) -> Survey:
    survey = surveys.survey_create(
        actor=actor,
        data=surveys.SurveyInput(
            slug=slug,
            title={"en": "When should the centre be open?", "zh-hans": "中心什么时候开放？"},
            intro={"en": "<p>Two minutes.</p><script>x()</script>"},
            community_id=community.pk if community else None,
            **extra,
        ),
    )
    return survey


def add_questions(actor, survey) -> dict[str, SurveyQuestion]:
    def add(**data) -> SurveyQuestion:
        return surveys.question_add(actor=actor, survey_id=survey.pk, data=surveys.QuestionInput(**data))

    return {
        "single": add(
            label={"en": "How did you hear of it?"},
            kind=Kind.SINGLE,
            choices={"en": "Friends\nWeChat\nPoster", "zh-hans": "朋友\n微信\n海报"},
            required=True,
        ),
        "multiple": add(
            label={"en": "Which times suit you?"}, kind=Kind.MULTIPLE, choices={"en": "Mornings\nEvenings\nWeekends"}
        ),
        "scale": add(label={"en": "How useful is it?"}, kind=Kind.SCALE, scale_min=1, scale_max=5),
        "text": add(label={"en": "What would you add?"}, kind=Kind.TEXT),
    }


@pytest.fixture
def survey(editor):
    found = make_survey(editor)
    questions = add_questions(editor, found)
    surveys.survey_open(actor=editor, survey_id=found.pk)
    found.refresh_from_db()
    found.q = questions  # type: ignore[attr-defined]
    return found


def answers(survey, **values):
    q = survey.q
    base = {q["single"].pk: 0}
    for name, value in values.items():
        base[q[name].pk] = value
    return {str(k): v for k, v in base.items() if v is not None}


def deliver() -> list[mail.EmailMessage]:
    before = len(mail.outbox)
    outbox_deliver()
    return mail.outbox[before:]


_n = iter(range(1, 10_000))


def account() -> User:
    n = next(_n)
    return User.objects.create_user(f"person{n}@example.org", "pw-person-1234")


# --- staff: surveys and questions ----------------------------------------------------------------


def test_create_cleans_texts_and_audits(editor):
    found = make_survey(editor)
    found.refresh_from_db()
    assert found.status == Survey.Status.DRAFT
    assert found.created_by == editor
    assert "<script>" not in found.intro.data["en"] and "Two minutes." in found.intro.data["en"]
    assert AuditEntry.objects.filter(action="survey.create", target_id=str(found.pk)).exists()


def test_slug_must_be_unique_and_valid(editor):
    make_survey(editor)
    with pytest.raises(ApplicationError) as exc:
        make_survey(editor)
    assert exc.value.field == "slug"
    with pytest.raises(ApplicationError) as exc:
        make_survey(editor, slug="Not A Slug")
    assert exc.value.field == "slug"


def test_close_must_follow_open(editor):
    now = timezone.now()
    with pytest.raises(ApplicationError) as exc:
        make_survey(editor, opens_at=now, closes_at=now - datetime.timedelta(hours=1))
    assert exc.value.field == "closes_at"


def test_draft_without_questions_cannot_open(editor):
    found = make_survey(editor)
    with pytest.raises(ApplicationError) as exc:
        surveys.survey_open(actor=editor, survey_id=found.pk)
    assert exc.value.status == 409
    add_questions(editor, found)
    assert surveys.survey_open(actor=editor, survey_id=found.pk).status == Survey.Status.OPEN
    assert surveys.survey_close(actor=editor, survey_id=found.pk).status == Survey.Status.CLOSED
    actions = set(AuditEntry.objects.filter(target_id=str(found.pk)).values_list("action", flat=True))
    assert {"survey.create", "survey.open", "survey.close"} <= actions


def test_update_changes_texts_and_is_audited(editor):
    found = make_survey(editor)
    surveys.survey_update(
        actor=editor, survey_id=found.pk, data=surveys.SurveyInput(slug="new-address", title={"en": "New title"})
    )
    found.refresh_from_db()
    assert found.slug == "new-address" and found.title.data == {"en": "New title"}
    assert AuditEntry.objects.filter(action="survey.update", target_id=str(found.pk)).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"label": {"en": ""}, "kind": Kind.TEXT}, "label"),
        ({"label": {"en": "Q"}, "kind": "essay"}, "kind"),
        ({"label": {"en": "Q"}, "kind": Kind.SINGLE, "choices": {"en": "Only one"}}, "choices"),
        ({"label": {"en": "Q"}, "kind": Kind.MULTIPLE, "choices": {"en": "A\nB", "zh-hans": "甲\n乙\n丙"}}, "choices"),
        ({"label": {"en": "Q"}, "kind": Kind.SCALE, "scale_min": 5, "scale_max": 5}, "scale_max"),
        ({"label": {"en": "Q"}, "kind": Kind.SCALE, "scale_min": 3, "scale_max": 1}, "scale_max"),
        ({"label": {"en": "Q"}, "kind": Kind.SCALE, "scale_min": -1, "scale_max": 5}, "scale_min"),
        ({"label": {"en": "Q"}, "kind": Kind.SCALE, "scale_min": 0, "scale_max": 11}, "scale_max"),
    ],
)
def test_question_validation(editor, data, field):
    found = make_survey(editor)
    with pytest.raises(ApplicationError) as exc:
        surveys.question_add(actor=editor, survey_id=found.pk, data=surveys.QuestionInput(**data))
    assert exc.value.field == field


def test_questions_are_kept_in_order_and_scale_zero_to_ten_is_allowed(editor):
    found = make_survey(editor)
    first = surveys.question_add(
        actor=editor,
        survey_id=found.pk,
        data=surveys.QuestionInput(label={"en": "Rate"}, kind=Kind.SCALE, scale_min=0, scale_max=10),
    )
    second = surveys.question_add(
        actor=editor, survey_id=found.pk, data=surveys.QuestionInput(label={"en": "Why?"}, kind=Kind.TEXT)
    )
    assert list(found.questions.all()) == [first, second]
    assert (first.scale_min, first.scale_max) == (0, 10)
    updated = surveys.question_update(
        actor=editor,
        question_id=second.pk,
        data=surveys.QuestionInput(label={"en": "Pick"}, kind=Kind.SINGLE, choices={"en": "A\nB"}, required=True),
    )
    assert updated.kind == Kind.SINGLE and updated.choice_list() == ["A", "B"] and updated.required
    surveys.question_delete(actor=editor, question_id=first.pk)
    assert list(found.questions.all()) == [second]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"survey.question.add", "survey.question.update", "survey.question.delete"} <= actions


def test_questions_cannot_change_once_answered(survey, resident):
    surveys.response_submit(survey_id=survey.pk, answers=answers(survey), user=resident)
    with pytest.raises(ApplicationError) as exc:
        surveys.question_delete(actor=User.objects.get(email="editor@example.org"), question_id=survey.q["text"].pk)
    assert exc.value.status == 409


# --- staff rights ------------------------------------------------------------------------------


def test_coordinator_runs_surveys_of_its_own_community_only(coordinator, community, other_community, editor):
    own = make_survey(coordinator, community)
    add_questions(coordinator, own)
    surveys.survey_open(actor=coordinator, survey_id=own.pk)
    with pytest.raises(ApplicationError) as exc:
        make_survey(coordinator, other_community, slug="other")
    assert exc.value.status == 403
    with pytest.raises(ApplicationError) as exc:
        make_survey(coordinator, None, slug="city-wide")
    assert exc.value.status == 403
    city = make_survey(editor, None, slug="city-wide")
    theirs = make_survey(editor, other_community, slug="theirs")
    for survey_id in (city.pk, theirs.pk):
        with pytest.raises(ApplicationError) as exc:
            surveys.survey_for_staff(actor=coordinator, survey_id=survey_id)
        assert exc.value.status == 403
        with pytest.raises(ApplicationError) as exc:
            surveys.question_add(
                actor=coordinator, survey_id=survey_id, data=surveys.QuestionInput(label={"en": "Q"}, kind="text")
            )
        assert exc.value.status == 403
    # Moving its own survey to another community is refused too.
    with pytest.raises(ApplicationError) as exc:
        surveys.survey_update(
            actor=coordinator,
            survey_id=own.pk,
            data=surveys.SurveyInput(slug=own.slug, title={"en": "T"}, community_id=other_community.pk),
        )
    assert exc.value.status == 403
    assert list(surveys.surveys_for_staff(coordinator)) == [own]
    assert set(surveys.surveys_for_staff(editor)) == {own, city, theirs}


def test_people_without_the_right_are_refused(responder, resident, community):
    for who in (responder, resident):
        with pytest.raises(ApplicationError) as exc:
            make_survey(who, community)
        assert exc.value.status == 403


# --- answering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("single", 3),  # only three choices: 0, 1, 2
        ("single", "x"),
        ("single", [0, 1]),
        ("single", True),
        ("multiple", [0, 7]),
        ("multiple", ["a"]),
        ("scale", 0),
        ("scale", 6),
        ("scale", "-1"),
        ("scale", "3.5"),
        ("text", "x" * 2001),
        ("text", 42),
    ],
)
def test_bad_answers_name_their_question(survey, resident, name, value):
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey, **{name: value}), user=resident)
    assert exc.value.field == f"q{survey.q[name].pk}"
    assert exc.value.status == 400
    assert not SurveyResponse.objects.exists()


def test_required_answer_missing(survey, resident):
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey, single=""), user=resident)
    assert exc.value.field == f"q{survey.q['single'].pk}"
    assert "answer this question" in str(exc.value.message)


def test_answers_are_cleaned_and_stored_by_question_id(survey, resident):
    result = surveys.response_submit(
        survey_id=survey.pk,
        answers={
            f"q{survey.q['single'].pk}": "2",
            str(survey.q["multiple"].pk): ["2", "0", "2"],
            survey.q["scale"].pk: "5",
            str(survey.q["text"].pk): "  <b>Longer</b> hours <script>alert(1)</script> please ",
        },
        user=resident,
        language="zh-hans",
    )
    response = result.response
    assert result.counted and response.confirmed
    assert response.answers == {
        str(survey.q["single"].pk): 2,
        str(survey.q["multiple"].pk): [0, 2],
        str(survey.q["scale"].pk): 5,
        str(survey.q["text"].pk): "Longer hours  please",
    }
    assert response.language == "zh-hans"
    survey.refresh_from_db()
    assert survey.responses_count == 1


def test_one_response_per_account(survey, resident):
    surveys.response_submit(survey_id=survey.pk, answers=answers(survey), user=resident)
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey, single=1), user=resident)
    assert exc.value.status == 409
    assert "already answered" in str(exc.value.message)
    assert SurveyResponse.objects.count() == 1


def test_email_response_waits_for_confirmation(survey):
    result = surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email=" Ana@Example.org ")
    response = result.response
    assert not result.counted and not response.confirmed
    assert response.email == "ana@example.org" and response.user is None
    survey.refresh_from_db()
    assert survey.responses_count == 0
    assert surveys.results(survey).respondents == 0
    (message,) = deliver()
    assert message.to == ["ana@example.org"]
    assert "Confirm" in message.subject
    (token,) = re.findall(r"http://[^/]+/en/surveys/confirm/([^/\s]+)/", message.body)
    assert surveys.response_from_token(token) == response
    assert token in message.alternatives[0][0]
    surveys.response_confirm(response_id=response.pk)
    surveys.response_confirm(response_id=response.pk)  # twice changes nothing
    survey.refresh_from_db()
    assert survey.responses_count == 1
    assert surveys.results(survey).respondents == 1


def test_same_address_again_reveals_nothing_and_mails_at_most_once_an_hour(survey):
    first = surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email="ana@example.org")
    again = surveys.response_submit(survey_id=survey.pk, answers=answers(survey, single=1), email="ana@example.org")
    assert again.response.pk == first.response.pk and not again.counted
    # The latest answers are the ones the link confirms.
    again.response.refresh_from_db()
    assert again.response.answers[str(survey.q["single"].pk)] == 1
    assert len(deliver()) == 1
    surveys.response_confirm(response_id=first.response.pk)
    # Confirmed: answering again looks the same and stores nothing; within the hour no more mail.
    later = surveys.response_submit(survey_id=survey.pk, answers=answers(survey, single=2), email="ana@example.org")
    assert not later.counted
    later.response.refresh_from_db()
    assert later.response.answers[str(survey.q["single"].pk)] == 1
    assert SurveyResponse.objects.count() == 1
    assert deliver() == []
    # An hour later its owner is told the address has already answered.
    with mock.patch.object(surveys, "_now", return_value=timezone.now() + datetime.timedelta(hours=1)):
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email="ana@example.org")
    (message,) = deliver()
    assert "already answered" in message.subject
    assert "/surveys/confirm/" not in message.body


def test_an_account_takes_over_its_unconfirmed_address(survey):
    user = account()
    pending = surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email=user.email).response
    result = surveys.response_submit(survey_id=survey.pk, answers=answers(survey, single=2), user=user)
    assert result.response.pk == pending.pk and result.counted
    assert SurveyResponse.objects.get().user == user
    survey.refresh_from_db()
    assert survey.responses_count == 1
    # The e-mail asking to confirm is no longer sent.
    assert deliver() == []
    # And the address cannot answer again by e-mail.
    surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email=user.email)
    assert SurveyResponse.objects.count() == 1


def test_an_account_whose_address_already_answered_is_refused(survey):
    user = account()
    pending = surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email=user.email).response
    surveys.response_confirm(response_id=pending.pk)
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey), user=user)
    assert exc.value.status == 409


def test_bad_address_is_refused(survey):
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email="not an address")
    assert exc.value.field == "email"


def test_draft_closed_and_not_yet_open_surveys_take_no_answers(editor, resident):
    draft = make_survey(editor, slug="draft")
    add_questions(editor, draft)
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=draft.pk, answers={}, user=resident)
    assert exc.value.status == 404
    later = make_survey(editor, slug="later", opens_at=timezone.now() + datetime.timedelta(days=1))
    add_questions(editor, later)
    surveys.survey_open(actor=editor, survey_id=later.pk)
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=later.pk, answers={}, user=resident)
    assert exc.value.status == 409
    assert later not in surveys.surveys_open()
    surveys.survey_close(actor=editor, survey_id=later.pk)
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=later.pk, answers={}, user=resident)
    assert exc.value.status == 409


def test_past_closing_date_takes_no_answers(survey, resident):
    Survey.objects.filter(pk=survey.pk).update(closes_at=timezone.now() - datetime.timedelta(minutes=1))
    with pytest.raises(ApplicationError) as exc:
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey), user=resident)
    assert exc.value.status == 409
    assert survey not in surveys.surveys_open()


def test_link_confirms_within_its_time(survey):
    response = surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email="a@example.org").response
    token = surveys.confirm_token(response)
    assert surveys.response_from_token(token) == response
    with pytest.raises(ApplicationError):
        surveys.response_from_token(token + "x")


# --- results and export ----------------------------------------------------------------------------


def test_results_count_confirmed_answers_only(survey):
    given = [
        dict(single=0, multiple=[0, 1], scale=5, text="More evenings"),
        dict(single=0, multiple=[1], scale=3, text="A café"),
        dict(single=1, multiple=None, scale=4, text=None),
        dict(single=2, multiple=[1, 2], scale=None, text="Later"),
    ]
    for values in given:
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey, **values), user=account())
    # Not confirmed: not counted.
    surveys.response_submit(survey_id=survey.pk, answers=answers(survey, single=2, scale=1), email="x@example.org")
    found = surveys.results(survey)
    assert found.respondents == 4
    single, multiple, scale, text = found.questions
    assert single.answered == 4
    assert [(r.label, r.count, r.percent) for r in single.rows] == [
        ("Friends", 2, 50.0),
        ("WeChat", 1, 25.0),
        ("Poster", 1, 25.0),
    ]
    assert multiple.answered == 3
    assert [(r.count, r.percent) for r in multiple.rows] == [(1, 33.3), (3, 100.0), (1, 33.3)]
    assert scale.answered == 3
    assert [(r.label, r.count) for r in scale.rows] == [("1", 0), ("2", 0), ("3", 1), ("4", 1), ("5", 1)]
    assert scale.mean == 4.0 and scale.median == 4.0
    assert text.texts_total == 3
    assert [t for _when, _lang, t in text.texts] == ["Later", "A café", "More evenings"]  # latest first
    assert sum(count for _day, count in found.per_day) == 4


def test_results_in_another_language(survey, resident):
    surveys.response_submit(survey_id=survey.pk, answers=answers(survey), user=resident)
    found = surveys.results(survey, language="zh-hans")
    assert [r.label for r in found.questions[0].rows] == ["朋友", "微信", "海报"]


def test_scale_median_of_an_even_count(survey):
    for value in (1, 2, 4, 5):
        surveys.response_submit(survey_id=survey.pk, answers=answers(survey, scale=value), user=account())
    scale = surveys.results(survey).questions[2]
    assert scale.mean == 3.0 and scale.median == 3.0


def test_csv_has_one_row_per_confirmed_response_and_guards_formulas(survey):
    surveys.response_submit(
        survey_id=survey.pk,
        answers=answers(survey, multiple=[0, 2], scale=4, text='=HYPERLINK("http://evil")'),
        user=account(),
    )
    surveys.response_submit(survey_id=survey.pk, answers=answers(survey, text="@SUM(1)"), user=account())
    surveys.response_submit(survey_id=survey.pk, answers=answers(survey), email="pending@example.org")
    rows = list(surveys.csv_rows(survey))
    header, first, second = rows
    assert header[3:] == [
        "How did you hear of it?",
        "Which times suit you?",
        "How useful is it?",
        "What would you add?",
    ]
    assert first[0] == "1" and first[2] == "en"
    assert first[3:] == ["Friends", "Mornings; Weekends", "4", '\'=HYPERLINK("http://evil")']
    assert second[6] == "'@SUM(1)"
    assert "pending@example.org" not in str(rows)


def test_csv_cell_guard():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+1") == "'+1"
    assert safe_cell("-1") == "'-1"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("fine") == "fine"
    assert safe_cell(None) == ""
