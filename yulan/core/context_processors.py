from typing import Any

from django.conf import settings
from django.http import HttpRequest

from yulan.core.permissions import Perm, has_perm


def site(request: HttpRequest) -> dict[str, Any]:
    # An error page can be rendered for a request that never reached the authentication
    # middleware (a missing static file, a failure in an earlier middleware).
    user = getattr(request, "user", None)
    return {
        "site_name": settings.YULAN_SITE_NAME,
        "is_staff_member": user is not None and has_perm(user, Perm.STAFF_AREA),
    }
