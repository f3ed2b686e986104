"""Signed links for registrants: confirming an address (expires), and the registration's own
page (ticket, calendar file, accept an offer, cancel). Calendar feeds of an account's events
are signed for the account."""

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from yulan.core import signedlinks
from yulan.core.errors import ApplicationError
from yulan.core.models import User
from yulan.events.models import Registration

CONFIRM = "yulan.events.confirm"
MANAGE = "yulan.events.registration"
CALENDAR = "yulan.events.calendar"


def make(registration: Registration, purpose: str) -> str:
    return signedlinks.make(registration, purpose)


def read(token: str, purpose: str) -> Registration:
    max_age = settings.YULAN_EVENT_CONFIRM_HOURS * 3600 if purpose == CONFIRM else None
    return signedlinks.read(
        Registration,
        token,
        purpose,
        max_age=max_age,
        expired=_("This confirmation link has expired. Please register again."),
    )


def _calendar_check(user: User) -> str:
    """A keyed digest of the account's password hash and address: a change of either retires
    old feed links, and the link reveals nothing of them."""
    return salted_hmac(CALENDAR, f"{user.pk}:{user.password}:{user.email}").hexdigest()[:20]


def calendar_token(user: User) -> str:
    return signing.dumps([user.pk, _calendar_check(user)], salt=CALENDAR, compress=True)


def calendar_user(token: str) -> User:
    try:
        pk, check = signing.loads(token, salt=CALENDAR)
    except (signing.BadSignature, ValueError, TypeError):
        raise ApplicationError(_("This calendar link is not valid."), status=404) from None
    user = User.objects.filter(pk=pk, is_active=True).first() if isinstance(pk, int) else None
    if user is None or not constant_time_compare(_calendar_check(user), str(check)):
        raise ApplicationError(_("This calendar link is no longer valid."), status=404)
    return user
