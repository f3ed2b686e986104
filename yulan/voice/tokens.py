"""The signed links of the feedback loop: tracking an item (given to its submitter), confirming
a follower, and a submitter's own data."""

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from yulan.core import signedlinks
from yulan.core.errors import ApplicationError
from yulan.voice.models import Follower, Item

TRACK = "voice.track"
FOLLOW = "voice.follow"


def track(item: Item) -> str:
    return signedlinks.make(item, TRACK)


def read_track(token: str) -> Item:
    return signedlinks.read(Item, token, TRACK)


def follow(follower: Follower) -> str:
    return signedlinks.make(follower, FOLLOW)


def read_follow(token: str) -> Follower:
    return signedlinks.read(Follower, token, FOLLOW)


MY_DATA = "voice.my-data"


def my_data(email: str) -> str:
    """A link to everything sent from one address; it names the address, so it expires."""
    return signing.dumps(email.lower(), salt=MY_DATA)


def read_my_data(token: str) -> str:
    try:
        email = signing.loads(token, salt=MY_DATA, max_age=settings.YULAN_FEEDBACK_DATA_LINK_HOURS * 3600)
    except signing.SignatureExpired:
        raise ApplicationError(_("This link has expired. Please ask for a new one."), status=400) from None
    except signing.BadSignature:
        raise ApplicationError(
            _("This link is not valid. Please use the link from your latest e-mail."), status=400
        ) from None
    if not isinstance(email, str):
        raise ApplicationError(_("This link is not valid. Please use the link from your latest e-mail."))
    return email
