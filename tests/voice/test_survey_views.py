import csv
import io
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from yulan.core.mail import outbox_deliver
from yulan.core.models import User
from yulan.voice import surveys
from yulan.voice.models import Survey, SurveyQuestion, SurveyResponse

Kind = SurveyQuestion.Kind


def deliver() -> list[mail.EmailMessage]:
    before = len(mail.outbox)
    outbox_deliver()
    return mail.outbox[before:]


def make(actor, community=None, *, slug="centre-hours", open_it=True) -> Survey:
    survey = surveys.survey_create(
        actor=actor,
        data=surveys.SurveyInput(
            slug=slug,
            title={"en": "When should the centre be open?"},
            intro={"en": "<p>Two minutes.</p>"},
            community_id=community.pk if community else None,
        ),
    )

    def add(**data) -> SurveyQuestion:
        return surveys.question_add(actor=actor, survey_id=survey.pk, data=surveys.QuestionInput(**data))

    survey.q = {  # type: ignore[attr-defined]
        "single": add(
            label={"en": "How did you hear of it?"}, kind=Kind.SINGLE, choices={"en": "Friends\nWeChat"}, required=True
        ),
        "multiple": add(
            label={"en": "Which times suit you?"}, kind=Kind.MULTIPLE, choices={"en": "Mornings\nEvenings"}
        ),
        "scale": add(label={"en": "How useful is it?"}, kind=Kind.SCALE, scale_min=1, scale_max=5),
        "text": add(label={"en": "What would you add?"}, kind=Kind.TEXT),
    }
    if open_it:
        surveys.survey_open(actor=actor, survey_id=survey.pk)
    return survey


@pytest.fixture
def city_survey(editor):
    return make(editor)


@pytest.fixture
def community_survey(coordinator, community):
    return make(coordinator, community, slug="hongqiao-hours")


def url(name, *args) -> str:
    return reverse(f"voice:{name}", args=args)


def form_data(survey, **values) -> dict:
    q = survey.q
    data = {f"q{q['single'].pk}": "1", f"q{q['multiple'].pk}": ["0", "1"], f"q{q['scale'].pk}": "4"}
    data[f"q{q['text'].pk}"] = "Sunday afternoons"
    for name, value in values.items():
        key = f"q{q[name].pk}" if name in q else name
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- public -------------------------------------------------------------------------------------


def test_list_shows_open_surveys_only(city_survey, editor):
    make(editor, slug="draft-one", open_it=False)
    page = Client().get(url("surveys"))
    assert page.status_code == 200
    html = page.content.decode()
    assert url("survey", "centre-hours") in html
    assert "draft-one" not in html


def test_form_has_labelled_fields_and_legends(city_survey):
    page = Client().get(url("survey", city_survey.slug))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<legend>How did you hear of it?" in html
    assert "<legend>How useful is it?" in html
    assert f'<label for="id_q{city_survey.q["text"].pk}">What would you add?' in html
    assert 'name="email"' in html
    assert 'name="in_community"' not in html  # city-wide


def test_signed_in_answer_counts_at_once(city_survey, resident):
    client = signed_in(resident)
    sent = client.post(url("survey", city_survey.slug), form_data(city_survey))
    assert sent.status_code == 302
    assert sent["Location"] == url("survey_thanks", city_survey.slug)
    response = SurveyResponse.objects.get()
    assert response.user == resident and response.confirmed
    assert response.answers == {
        str(city_survey.q["single"].pk): 1,
        str(city_survey.q["multiple"].pk): [0, 1],
        str(city_survey.q["scale"].pk): 4,
        str(city_survey.q["text"].pk): "Sunday afternoons",
    }
    thanks = client.get(sent["Location"])
    assert "Thank you" in thanks.content.decode()
    # A second visit says it was answered; a second answer is refused.
    again = client.get(url("survey", city_survey.slug))
    assert "You have already answered this survey" in again.content.decode()
    assert "Send my answers" not in again.content.decode()
    refused = client.post(url("survey", city_survey.slug), form_data(city_survey))
    assert refused.status_code == 409
    assert SurveyResponse.objects.count() == 1


def test_answer_by_email_with_confirmation_link(city_survey):
    client = Client()
    sent = client.post(url("survey", city_survey.slug), form_data(city_survey, email="Ana@example.org"))
    assert sent.status_code == 302
    assert sent["Location"] == url("survey_thanks", city_survey.slug) + "?sent=1"
    assert "Check your e-mail" in client.get(sent["Location"]).content.decode()
    response = SurveyResponse.objects.get()
    assert not response.confirmed and response.email == "ana@example.org"
    (message,) = deliver()
    assert message.to == ["ana@example.org"]
    links = [urlsplit(u).path for u in re.findall(r"https?://\S+", message.body) if "/surveys/confirm/" in u]
    assert len(links) == 1
    # Opening the link shows a button and confirms nothing.
    page = client.get(links[0])
    assert page.status_code == 200 and "<form" in page.content.decode()
    response.refresh_from_db()
    assert not response.confirmed
    done = client.post(links[0])
    assert done.status_code == 302
    response.refresh_from_db()
    assert response.confirmed
    city_survey.refresh_from_db()
    assert city_survey.responses_count == 1
    # The same address again: the same page, no second response, no second mail this hour.
    again = client.post(url("survey", city_survey.slug), form_data(city_survey, email="ana@example.org"))
    assert again.status_code == 302 and again["Location"].endswith("?sent=1")
    assert SurveyResponse.objects.count() == 1
    assert deliver() == []


def test_forged_confirmation_link_is_refused(city_survey):
    page = Client().get(url("survey_confirm", "not-a-token"))
    assert page.status_code == 400


def test_bad_answers_give_400_with_messages_and_keep_answers(city_survey):
    data = form_data(city_survey, single=None, scale="9", email="ana@example.org")
    page = Client().post(url("survey", city_survey.slug), data)
    assert page.status_code == 400
    html = page.content.decode()
    assert "Please answer this question." in html
    assert "Choose from the list." in html
    assert 'value="ana@example.org"' in html
    assert "Sunday afternoons" in html
    assert re.search(r'value="0"[^>]*checked|checked[^>]*value="0"', html)  # multiple choice kept
    assert 'aria-invalid="true"' in html
    assert not SurveyResponse.objects.exists()


def test_text_too_long_is_refused(city_survey, resident):
    page = signed_in(resident).post(url("survey", city_survey.slug), form_data(city_survey, text="x" * 2001))
    assert page.status_code == 400
    assert not SurveyResponse.objects.exists()


def test_community_survey_asks_to_confirm_living_or_working_there(community_survey, resident):
    client = signed_in(resident)
    page = client.get(url("survey", community_survey.slug))
    html = page.content.decode()
    assert "For people who live or work in Hongqiao Subdistrict" in html
    assert 'name="in_community"' in html and "I live or work in Hongqiao Subdistrict." in html
    refused = client.post(url("survey", community_survey.slug), form_data(community_survey))
    assert refused.status_code == 400
    assert "This survey is for people who live or work in Hongqiao Subdistrict." in refused.content.decode()
    ok = client.post(url("survey", community_survey.slug), form_data(community_survey, in_community="on"))
    assert ok.status_code == 302
    assert SurveyResponse.objects.filter(user=resident).exists()


@override_settings(YULAN_FEEDBACK_PER_HOUR=2)
def test_flood_is_refused_with_429(city_survey):
    client = Client()
    for n in range(2):
        assert (
            client.post(url("survey", city_survey.slug), form_data(city_survey, email=f"p{n}@example.org")).status_code
            == 302
        )
    flood = client.post(url("survey", city_survey.slug), form_data(city_survey, email="p9@example.org"))
    assert flood.status_code == 429
    assert "Too many answers" in flood.content.decode()
    assert SurveyResponse.objects.count() == 2


def test_draft_is_not_found_and_closed_is_not_answerable(editor, resident):
    draft = make(editor, slug="draft-one", open_it=False)
    assert Client().get(url("survey", draft.slug)).status_code == 404
    assert Client().post(url("survey", draft.slug), form_data(draft, email="a@example.org")).status_code == 404
    closed = make(editor, slug="closed-one")
    surveys.survey_close(actor=editor, survey_id=closed.pk)
    page = Client().get(url("survey", closed.slug))
    assert page.status_code == 200
    assert "This survey has closed." in page.content.decode()
    assert 'name="email"' not in page.content.decode()
    refused = signed_in(resident).post(url("survey", closed.slug), form_data(closed))
    assert refused.status_code == 409
    assert not SurveyResponse.objects.exists()


# --- staff ---------------------------------------------------------------------------------------


def test_staff_pages_need_the_right(city_survey, community_survey, coordinator, responder, resident):
    # Signed out: to the sign-in page.
    assert Client().get(url("staff_surveys")).status_code == 302
    for who in (responder, resident):
        assert signed_in(who).get(url("staff_surveys")).status_code == 403
    client = signed_in(coordinator)
    listed = client.get(url("staff_surveys"))
    assert listed.status_code == 200
    assert url("staff_survey", community_survey.pk) in listed.content.decode()
    assert url("staff_survey", city_survey.pk) not in listed.content.decode()
    for name in ("staff_survey", "staff_survey_results", "staff_survey_csv"):
        assert client.get(url(name, city_survey.pk)).status_code == 403
        assert client.get(url(name, community_survey.pk)).status_code == 200
    assert client.get(url("staff_survey", 999999)).status_code == 404


def test_coordinator_of_another_community_is_refused(community_survey, admin_user, other_community):
    from yulan.core.models import Role
    from yulan.core.services import role_grant

    other = User.objects.create_user("coord-other@example.org", "pw-coord-other-1234")
    role_grant(actor=admin_user, user=other, role=Role.COORDINATOR, community=other_community)
    client = signed_in(other)
    for name in ("staff_survey", "staff_survey_results", "staff_survey_csv"):
        assert client.get(url(name, community_survey.pk)).status_code == 403
    assert client.post(url("staff_survey", community_survey.pk), {"form": "close"}).status_code == 403
    community_survey.refresh_from_db()
    assert community_survey.status == Survey.Status.OPEN


def test_staff_create_add_questions_open_and_close(editor):
    client = signed_in(editor)
    assert client.get(url("staff_survey_new")).status_code == 200
    created = client.post(
        url("staff_survey_new"),
        {"title__en": "Library hours", "slug": "library-hours", "community": "", "opens_at": "", "closes_at": ""},
    )
    assert created.status_code == 302
    survey = Survey.objects.get(slug="library-hours")
    assert survey.community is None and survey.status == Survey.Status.DRAFT
    page = url("staff_survey", survey.pk)
    # Cannot open without a question.
    assert client.post(page, {"form": "open"}).status_code == 409
    bad = client.post(
        page,
        {"form": "question", "question-label__en": "Pick", "question-kind": "single", "question-choices__en": "One"},
    )
    assert bad.status_code == 400
    assert "List at least two choices" in bad.content.decode()
    added = client.post(
        page,
        {
            "form": "question",
            "question-label__en": "Rate us",
            "question-kind": "scale",
            "question-scale_min": "0",
            "question-scale_max": "10",
            "question-required": "on",
        },
    )
    assert added.status_code == 302
    question = survey.questions.get()
    assert (question.kind, question.scale_min, question.scale_max, question.required) == ("scale", 0, 10, True)
    assert client.post(page, {"form": "open"}).status_code == 302
    survey.refresh_from_db()
    assert survey.status == Survey.Status.OPEN
    saved = client.post(
        page,
        {
            "form": "survey",
            "title__en": "Library opening hours",
            "slug": "library-hours",
            "community": "",
            "opens_at": "",
            "closes_at": "",
        },
    )
    assert saved.status_code == 302
    survey.refresh_from_db()
    assert str(survey) == "Library opening hours"
    assert client.post(page, {"form": "close"}).status_code == 302
    survey.refresh_from_db()
    assert survey.status == Survey.Status.CLOSED


def test_coordinator_cannot_make_a_city_wide_survey(coordinator, community, other_community):
    client = signed_in(coordinator)
    form = client.get(url("staff_survey_new")).content.decode()
    assert "The whole city" not in form
    assert "Huacao" not in form
    refused = client.post(url("staff_survey_new"), {"title__en": "T", "slug": "t", "community": ""})
    assert refused.status_code == 400
    assert not Survey.objects.exists()
    refused = client.post(url("staff_survey_new"), {"title__en": "T", "slug": "t", "community": other_community.pk})
    assert refused.status_code == 400
    ok = client.post(url("staff_survey_new"), {"title__en": "T", "slug": "t", "community": community.pk})
    assert ok.status_code == 302


def test_question_delete_from_the_staff_page(city_survey, editor):
    client = signed_in(editor)
    question = city_survey.q["text"]
    done = client.post(url("staff_survey", city_survey.pk), {"form": "question-delete", "question": question.pk})
    assert done.status_code == 302
    assert not SurveyQuestion.objects.filter(pk=question.pk).exists()


def test_results_page_renders_charts_and_tables(city_survey, editor):
    for n in range(3):
        user = User.objects.create_user(f"r{n}@example.org", "pw-r-1234")
        surveys.response_submit(
            survey_id=city_survey.pk,
            answers={k[1:]: v for k, v in form_data(city_survey, text=f"<b>Idea {n}</b> & more").items()},
            user=user,
        )
    page = signed_in(editor).get(url("staff_survey_results", city_survey.pk))
    assert page.status_code == 200
    html = page.content.decode()
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 4  # the trend and three charted questions
    for svg in svgs:
        ET.fromstring(svg)  # noqa: S314 - our own output
        assert 'role="img"' in svg
    assert "<table>" in html and "100%" in html
    assert "3 confirmed answers." in html
    assert "Idea 2 &amp; more" in html and "<b>Idea" not in html
    assert "Mean" in html and "Median" in html


def test_results_of_a_survey_without_answers(city_survey, editor):
    page = signed_in(editor).get(url("staff_survey_results", city_survey.pk))
    assert page.status_code == 200
    assert "0 confirmed answers." in page.content.decode()


def test_csv_download(city_survey, editor):
    user = User.objects.create_user("r@example.org", "pw-r-1234")
    surveys.response_submit(
        survey_id=city_survey.pk,
        answers={k[1:]: v for k, v in form_data(city_survey, text="=cmd|' /C calc'!A0").items()},
        user=user,
    )
    response = signed_in(editor).get(url("staff_survey_csv", city_survey.pk))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert rows[0][3] == "How did you hear of it?"
    assert rows[1][3:] == ["WeChat", "Mornings; Evenings", "4", "'=cmd|' /C calc'!A0"]
    assert "r@example.org" not in raw.decode("utf-8-sig")
