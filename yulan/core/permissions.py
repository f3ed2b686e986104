"""The one place that decides who may do what, and where.

Every staff view and service asks here. Roles come from `RoleGrant`; a coordinator's rights
hold only inside its community, a responder's only for its office.
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import NotAllowed
from yulan.core.models import Role, RoleGrant


class Perm(StrEnum):
    STAFF_AREA = "staff.area"
    GUIDE_WRITE = "guide.write"
    GUIDE_PUBLISH = "guide.publish"
    DIRECTORY_WRITE = "directory.write"
    AUDIT_VIEW = "audit.view"
    NEWS_WRITE = "news.write"
    NEWS_PUBLISH = "news.publish"
    BULLETIN_SEND = "news.bulletin"
    SUBSCRIBERS_MANAGE = "news.subscribers"
    EVENTS_WRITE = "events.write"
    EVENTS_ATTENDEES = "events.attendees"
    # Triage, answer and route feedback: a coordinator for its community's items, a responder
    # for its office's, an editor for all.
    FEEDBACK_HANDLE = "voice.handle"
    # Categories, routing rules and Open311 clients.
    FEEDBACK_SETUP = "voice.setup"
    FEEDBACK_REPORTS = "voice.reports"
    SURVEYS_WRITE = "voice.surveys"


ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.EDITOR: frozenset(
        {
            Perm.STAFF_AREA,
            Perm.GUIDE_WRITE,
            Perm.GUIDE_PUBLISH,
            Perm.DIRECTORY_WRITE,
            Perm.NEWS_WRITE,
            Perm.NEWS_PUBLISH,
            Perm.BULLETIN_SEND,
            Perm.SUBSCRIBERS_MANAGE,
            Perm.EVENTS_WRITE,
            Perm.EVENTS_ATTENDEES,
            Perm.FEEDBACK_HANDLE,
            Perm.FEEDBACK_SETUP,
            Perm.FEEDBACK_REPORTS,
            Perm.SURVEYS_WRITE,
        }
    ),
    # A coordinator writes and publishes news and runs events for its own community only (see
    # community_scope); it sees the registrations of its own community's events only.
    Role.COORDINATOR: frozenset(
        {
            Perm.STAFF_AREA,
            Perm.DIRECTORY_WRITE,
            Perm.NEWS_WRITE,
            Perm.NEWS_PUBLISH,
            Perm.EVENTS_WRITE,
            Perm.EVENTS_ATTENDEES,
            Perm.FEEDBACK_HANDLE,
            Perm.FEEDBACK_REPORTS,
            Perm.SURVEYS_WRITE,
        }
    ),
    # A responder handles the feedback routed to its office only (see office_scope).
    Role.RESPONDER: frozenset({Perm.STAFF_AREA, Perm.FEEDBACK_HANDLE}),
    Role.AMBASSADOR: frozenset(),
}

_CACHE_ATTR = "_yulan_grants"


def grants_of(user: Any) -> list[RoleGrant]:
    """The user's role grants, read once per request (cached on the user object)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(RoleGrant.objects.filter(user=user))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_grants(user: Any) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _grant_allows(grant: RoleGrant, perm: Perm, community_id: int | None, office_id: int | None) -> bool:
    if perm not in ROLE_PERMS.get(grant.role, frozenset()):
        return False
    if grant.role == Role.COORDINATOR:
        return office_id is None and (community_id is None or grant.community_id == community_id)
    if grant.role == Role.RESPONDER:
        return community_id is None and (office_id is None or grant.office_id == office_id)
    return True


def has_perm(user: Any, perm: Perm, *, community_id: int | None = None, office_id: int | None = None) -> bool:
    """May `user` do `perm`? With a community or office given, the answer is for that scope;
    without, it says whether the user holds the right anywhere."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return any(_grant_allows(g, perm, community_id, office_id) for g in grants_of(user))


def require(user: Any, perm: Perm, *, community_id: int | None = None, office_id: int | None = None) -> None:
    if not has_perm(user, perm, community_id=community_id, office_id=office_id):
        raise NotAllowed(_("You do not have permission to do this."))


def _scope(user: Any, perm: Perm, scoped_role: str) -> frozenset[int] | None:
    """The ids of what the user's `scoped_role` grants (a coordinator's communities, a
    responder's offices) that carry `perm`: None when a city-wide role carries it, an empty set
    when nothing does. The other scoped role's grants count for neither."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return None
    ids: set[int] = set()
    for g in grants_of(user):
        if perm not in ROLE_PERMS.get(g.role, frozenset()):
            continue
        if g.role == scoped_role:
            ids.add(g.community_id if scoped_role == Role.COORDINATOR else g.office_id)  # type: ignore[arg-type]
        elif g.role not in (Role.COORDINATOR, Role.RESPONDER):
            return None
    return frozenset(ids)


def community_scope(user: Any, perm: Perm) -> frozenset[int] | None:
    """The communities in which the user holds `perm`: None means everywhere, an empty set
    nowhere."""
    return _scope(user, perm, Role.COORDINATOR)


def roles_of(user: Any) -> Iterable[str]:
    return sorted({g.role for g in grants_of(user)})


def require_for_community(user: Any, perm: Perm, community_id: int | None) -> None:
    """Require `perm` for something that belongs to `community_id`; None means city-wide,
    which only holders of the right everywhere may touch."""
    scope = community_scope(user, perm)
    if scope is None:
        return
    if community_id is None or community_id not in scope:
        raise NotAllowed(_("You do not have permission to do this."))


def office_scope(user: Any, perm: Perm) -> frozenset[int] | None:
    """The offices for which the user holds `perm` through a responder grant: None means every
    office (a city-wide role), an empty set none."""
    return _scope(user, perm, Role.RESPONDER)


def handling_filter(user: Any, perm: Perm = Perm.FEEDBACK_HANDLE) -> Q | None:
    """Which feedback items the user may handle, as a filter: those of its communities (a
    coordinator) or routed to its offices (a responder). None means all; a filter matching
    nothing for someone without the right."""
    communities = community_scope(user, perm)
    offices = office_scope(user, perm)
    if communities is None or offices is None:
        return None
    return Q(community_id__in=sorted(communities)) | Q(office_id__in=sorted(offices))


def has_perm_everywhere(user: Any, perm: Perm) -> bool:
    """Does the user hold `perm` city-wide (not only for some communities or offices)?"""
    return community_scope(user, perm) is None and office_scope(user, perm) is None


def may_handle(user: Any, *, community_id: int | None, office_id: int | None) -> bool:
    """May the user handle an item of this community, routed to this office?"""
    if has_perm_everywhere(user, Perm.FEEDBACK_HANDLE):
        return True
    if community_id is not None and has_perm(user, Perm.FEEDBACK_HANDLE, community_id=community_id):
        return True
    return office_id is not None and has_perm(user, Perm.FEEDBACK_HANDLE, office_id=office_id)
