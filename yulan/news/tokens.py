"""Signed links for subscribers without an account. A link carries the subscriber's id and
secret, signed with the site key; the confirmation link also expires."""

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from yulan.core.errors import ApplicationError
from yulan.news.models import Subscriber

CONFIRM = "yulan.news.confirm"
MANAGE = "yulan.news.manage"


def make(subscriber: Subscriber, purpose: str) -> str:
    return signing.dumps([subscriber.pk, subscriber.secret], salt=purpose)


def read(token: str, purpose: str) -> Subscriber:
    """The subscriber a link was made for; a forged, altered, expired or retired link is
    refused with a message that says what to do."""
    max_age = settings.YULAN_SUBSCRIBE_CONFIRM_DAYS * 86400 if purpose == CONFIRM else None
    try:
        pk, secret = signing.loads(token, salt=purpose, max_age=max_age)
    except signing.SignatureExpired:
        raise ApplicationError(
            _("This confirmation link has expired. Please subscribe again to get a new one."), status=400
        ) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise ApplicationError(
            _("This link is not valid. Please use the link from your latest e-mail."), status=400
        ) from None
    subscriber = Subscriber.objects.filter(pk=pk, secret=secret).first() if isinstance(pk, int) else None
    if subscriber is None:
        raise ApplicationError(
            _("This link is no longer valid. Please use the link from your latest e-mail."), status=404
        )
    return subscriber
