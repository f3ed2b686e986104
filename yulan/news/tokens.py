"""Signed links for subscribers without an account; the confirmation link also expires."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from yulan.core import signedlinks
from yulan.news.models import Subscriber

CONFIRM = "yulan.news.confirm"
MANAGE = "yulan.news.manage"


def make(subscriber: Subscriber, purpose: str) -> str:
    return signedlinks.make(subscriber, purpose)


def read(token: str, purpose: str) -> Subscriber:
    max_age = settings.YULAN_SUBSCRIBE_CONFIRM_DAYS * 86400 if purpose == CONFIRM else None
    return signedlinks.read(
        Subscriber,
        token,
        purpose,
        max_age=max_age,
        expired=_("This confirmation link has expired. Please subscribe again to get a new one."),
    )
