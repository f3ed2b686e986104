"""Checks of small values shared by every capability's services."""

import re

from django.utils.translation import gettext as _

from yulan.core.errors import ApplicationError
from yulan.core.i18n import language_codes

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def clean_slug(slug: str, *, field: str = "slug") -> str:
    """A web address part: lower-case letters, digits and single hyphens, at most 120."""
    slug = (slug or "").strip().lower()
    if not slug or len(slug) > 120 or not _SLUG.match(slug):
        raise ApplicationError(
            _("Use lower-case letters, digits and hyphens only, like “public-transport”."), field=field
        )
    return slug


def clean_language(code: str, *, field: str = "source_language") -> str:
    """One of the site's languages."""
    if code not in language_codes():
        raise ApplicationError(_("Unknown language code “%(code)s”.") % {"code": code}, field=field)
    return code
