from typing import Any

from django.conf import settings
from django.http import HttpRequest

from yulan.core.permissions import Perm, has_perm


def site(request: HttpRequest) -> dict[str, Any]:
    return {
        "site_name": settings.YULAN_SITE_NAME,
        "is_staff_member": has_perm(request.user, Perm.STAFF_AREA),
    }
