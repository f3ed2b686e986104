"""Signed links for people without an account (a subscriber, an event registrant). A link
carries the row's id and its secret, signed with the site key under a purpose; it may also
expire. Changing the row's secret retires every link made for it."""

from typing import Any, TypeVar

from django.core import signing
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError

M = TypeVar("M", bound=models.Model)


def make(obj: Any, purpose: str) -> str:
    return signing.dumps([obj.pk, obj.secret], salt=purpose)


def read(
    model: type[M],
    token: str,
    purpose: str,
    *,
    max_age: int | None = None,
    expired: str | Promise | None = None,
) -> M:
    """The row a link was made for; a forged, altered, expired or retired link is refused with
    a message that says what to do."""
    try:
        pk, secret = signing.loads(token, salt=purpose, max_age=max_age)
    except signing.SignatureExpired:
        raise ApplicationError(expired or _("This link has expired."), status=400) from None
    except (signing.BadSignature, ValueError, TypeError):
        raise ApplicationError(
            _("This link is not valid. Please use the link from your latest e-mail."), status=400
        ) from None
    found = model._default_manager.filter(pk=pk, secret=secret).first() if isinstance(pk, int) else None
    if found is None:
        raise ApplicationError(
            _("This link is no longer valid. Please use the link from your latest e-mail."), status=404
        )
    return found
