"""Checking an e-mail address before anything is sent to it."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from yulan.core.errors import ApplicationError

# Throwaway-mailbox services: a bulletin sent there is never read and hurts delivery to
# everyone else. Kept short on purpose: the well-known ones.
DISPOSABLE_DOMAINS = frozenset(
    {
        "10minutemail.com",
        "20minutemail.com",
        "dispostable.com",
        "discard.email",
        "emailondeck.com",
        "fakeinbox.com",
        "getairmail.com",
        "getnada.com",
        "guerrillamail.biz",
        "guerrillamail.com",
        "guerrillamail.de",
        "guerrillamail.info",
        "guerrillamail.net",
        "guerrillamail.org",
        "guerrillamailblock.com",
        "maildrop.cc",
        "mailinator.com",
        "mailinator.net",
        "mailnesia.com",
        "mintemail.com",
        "moakt.com",
        "mohmal.com",
        "mytemp.email",
        "sharklasers.com",
        "spamgourmet.com",
        "temp-mail.org",
        "tempail.com",
        "tempmail.com",
        "tempmail.net",
        "tempmailo.com",
        "tempr.email",
        "throwawaymail.com",
        "trashmail.com",
        "trashmail.de",
        "yopmail.com",
        "yopmail.fr",
        "yopmail.net",
    }
)


def clean_address(raw: str, *, field: str = "email") -> str:
    """A deliverable-looking address, lower-cased; otherwise ApplicationError naming `field`."""
    address = (raw or "").strip()
    if not address:
        raise ApplicationError(_("Enter your e-mail address."), field=field)
    if len(address) > 254:
        raise ApplicationError(_("This e-mail address is too long."), field=field)
    try:
        validate_email(address)
    except ValidationError:
        raise ApplicationError(
            _("“%(address)s” is not a valid e-mail address. Check it for typing mistakes.") % {"address": address},
            field=field,
        ) from None
    local, _at, domain = address.rpartition("@")
    domain = domain.lower().rstrip(".")
    if "." not in domain or domain.startswith("["):
        raise ApplicationError(
            _("“%(address)s” is not a valid e-mail address. Check it for typing mistakes.") % {"address": address},
            field=field,
        )
    parts = domain.split(".")
    if any(".".join(parts[i:]) in DISPOSABLE_DOMAINS for i in range(len(parts) - 1)):
        raise ApplicationError(
            _("Addresses from throwaway mailbox services cannot receive the bulletin. Please use an address you keep."),
            field=field,
        )
    return f"{local}@{domain}".lower()
