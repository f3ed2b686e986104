"""The e-mails of surveys, written when they are sent: the link to confirm answers given with
an e-mail address, and the note to an address that had already answered.

Each outbox row names a notice and a response; a confirmation that no longer applies (the
answers were confirmed meanwhile, or taken over by an account) is not sent."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from yulan.core.i18n import localize
from yulan.core.mail import register_renderer, templated_message
from yulan.core.models import OutgoingMail
from yulan.news.services import site_url
from yulan.voice import surveys
from yulan.voice.models import SurveyResponse


def register() -> None:
    register_renderer(surveys.MAIL_KIND, render)


@dataclass
class Notice:
    subject: str
    paragraphs: list[str]
    action_label: str = ""
    action_url: str = ""


def _notice(name: str, response: SurveyResponse, title: str, language: str) -> Notice | None:
    if name == "confirm":
        if response.confirmed:
            return None
        return Notice(
            _("Confirm your answers: %(title)s") % {"title": title},
            [
                _("Someone, probably you, answered the survey “%(title)s” with this address.") % {"title": title},
                _("Your answers count once you confirm them. The link works for %(days)d days.")
                % {"days": surveys.CONFIRM_DAYS},
                _("If it was not you, ignore this message: nothing is counted."),
            ],
            _("Confirm my answers"),
            site_url("voice:survey_confirm", surveys.confirm_token(response), language=language),
        )
    if name == "already":
        return Notice(
            _("You have already answered: %(title)s") % {"title": title},
            [
                _("Someone, probably you, tried to answer the survey “%(title)s” again with this address.")
                % {"title": title},
                _("Your earlier answers are counted; each address answers once. Thank you!"),
            ],
        )
    return None


def _message(row: OutgoingMail, response: SurveyResponse) -> EmailMessage | None:
    language = response.language or settings.LANGUAGE_CODE
    survey = response.survey
    with translation.override(language):
        title = localize(survey.title, language).text
        notice = _notice(str(row.context.get("notice")), response, title, language)
        if notice is None:
            return None
        context: dict[str, Any] = {
            "notice": notice,
            "title": title,
            "survey_url": site_url("voice:survey", survey.slug, language=language),
            "LANGUAGE_CODE": language,
        }
        return templated_message(
            to=row.to_email, subject=notice.subject, template="voice/surveys/email/notice", context=context
        )


def render(rows: list[OutgoingMail]) -> dict[int, EmailMessage]:
    ids = [row.context.get("response") for row in rows]
    responses = SurveyResponse.objects.select_related("survey").in_bulk([i for i in ids if isinstance(i, int)])
    messages: dict[int, EmailMessage] = {}
    for row in rows:
        response = responses.get(row.context.get("response"))
        # The address may have changed hands (an account took the answers over): send only to
        # the address the answers belong to.
        if response is None or response.email != row.to_email:
            continue
        message = _message(row, response)
        if message is not None:
            messages[row.pk] = message
    return messages
