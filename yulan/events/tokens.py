"""Signed links for registrants: confirming an address (expires), and the registration's own
page (ticket, calendar file, accept an offer, cancel). Calendar feeds of an account's events
are signed for the account."""

from django.conf import settings
from django.core import signing
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


def calendar_token(user: User) -> str:
    # The password hash's tail makes a password change retire old feed links.
    return signing.dumps([user.pk, user.password[-12:]], salt=CALENDAR, compress=True)


def calendar_user(token: str) -> User:
    try:
        pk, check = signing.loads(token, salt=CALENDAR)
    except (signing.BadSignature, ValueError, TypeError):
        raise ApplicationError(_("This calendar link is not valid."), status=404) from None
    user = User.objects.filter(pk=pk, is_active=True).first() if isinstance(pk, int) else None
    if user is None or user.password[-12:] != check:
        raise ApplicationError(_("This calendar link is no longer valid."), status=404)
    return user
