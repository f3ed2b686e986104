"""Who may handle feedback, and where: a coordinator for its community's items, a responder for
its office's, an editor or administrator for all, a resident or visitor for none."""

import pytest
from django.contrib.auth.models import AnonymousUser

from yulan.core.errors import NotAllowed
from yulan.core.models import Office, Role, User
from yulan.core.permissions import (
    Perm,
    community_scope,
    handling_filter,
    has_perm,
    has_perm_everywhere,
    may_handle,
    office_scope,
    require,
)
from yulan.core.services import role_grant

FEEDBACK = [Perm.FEEDBACK_HANDLE, Perm.FEEDBACK_SETUP, Perm.FEEDBACK_REPORTS, Perm.SURVEYS_WRITE]


@pytest.fixture
def other_office(district):
    return Office.objects.create(slug="city-services", name={"en": "City Services Office"}, district=district)


def person(admin_user, email: str, *grants) -> User:
    user = User.objects.create_user(email, "pw-person-1234")
    for role, where in grants:
        kwargs = {}
        if role == Role.COORDINATOR:
            kwargs["community"] = where
        elif role == Role.RESPONDER:
            kwargs["office"] = where
        role_grant(actor=admin_user, user=user, role=role, **kwargs)
    return user


@pytest.fixture
def ambassador(admin_user):
    return person(admin_user, "ambassador@example.org", (Role.AMBASSADOR, None))


@pytest.fixture
def city_admin(admin_user):
    return person(admin_user, "city-admin@example.org", (Role.ADMIN, None))


# The rights each role holds somewhere (not yet saying where).
HOLDS = {
    "admin_user": set(FEEDBACK),
    "city_admin": set(FEEDBACK),
    "editor": set(FEEDBACK),
    "coordinator": {Perm.FEEDBACK_HANDLE, Perm.FEEDBACK_REPORTS, Perm.SURVEYS_WRITE},
    "responder": {Perm.FEEDBACK_HANDLE},
    "ambassador": set(),
    "resident": set(),
}


@pytest.mark.parametrize("who", HOLDS)
@pytest.mark.parametrize("perm", FEEDBACK)
def test_which_roles_hold_which_feedback_rights(request, who, perm):
    user = request.getfixturevalue(who)
    assert has_perm(user, perm) == (perm in HOLDS[who])


@pytest.mark.parametrize("perm", FEEDBACK)
def test_an_anonymous_visitor_holds_no_feedback_right(db, perm):
    assert not has_perm(AnonymousUser(), perm)
    assert community_scope(AnonymousUser(), perm) == frozenset()
    assert office_scope(AnonymousUser(), perm) == frozenset()
    assert not has_perm_everywhere(AnonymousUser(), perm)


def test_only_city_wide_roles_set_up_categories_and_routing(editor, coordinator, responder):
    require(editor, Perm.FEEDBACK_SETUP)
    for user in (coordinator, responder):
        with pytest.raises(NotAllowed):
            require(user, Perm.FEEDBACK_SETUP)


# --- scopes ---------------------------------------------------------------------------------------


def test_scopes_of_each_role(editor, coordinator, responder, resident, community, office):
    perm = Perm.FEEDBACK_HANDLE
    assert (community_scope(editor, perm), office_scope(editor, perm)) == (None, None)
    assert (community_scope(coordinator, perm), office_scope(coordinator, perm)) == ({community.pk}, frozenset())
    assert (community_scope(responder, perm), office_scope(responder, perm)) == (frozenset(), {office.pk})
    assert (community_scope(resident, perm), office_scope(resident, perm)) == (frozenset(), frozenset())


def test_a_responder_of_two_offices(admin_user, office, other_office):
    user = person(admin_user, "two-offices@example.org", (Role.RESPONDER, office), (Role.RESPONDER, other_office))
    assert office_scope(user, Perm.FEEDBACK_HANDLE) == {office.pk, other_office.pk}
    assert not has_perm_everywhere(user, Perm.FEEDBACK_HANDLE)


def test_a_coordinator_who_also_responds_for_an_office(admin_user, community, office):
    user = person(admin_user, "both@example.org", (Role.COORDINATOR, community), (Role.RESPONDER, office))
    assert community_scope(user, Perm.FEEDBACK_HANDLE) == {community.pk}
    assert office_scope(user, Perm.FEEDBACK_HANDLE) == {office.pk}
    # Reports are a coordinator's right, not a responder's: only the community counts.
    assert community_scope(user, Perm.FEEDBACK_REPORTS) == {community.pk}
    assert office_scope(user, Perm.FEEDBACK_REPORTS) == frozenset()


def test_a_city_wide_grant_beside_a_scoped_one_is_city_wide(admin_user, community):
    user = person(admin_user, "wide@example.org", (Role.COORDINATOR, community), (Role.EDITOR, None))
    assert community_scope(user, Perm.FEEDBACK_HANDLE) is None
    assert office_scope(user, Perm.FEEDBACK_HANDLE) is None
    assert has_perm_everywhere(user, Perm.FEEDBACK_HANDLE)
    assert handling_filter(user) is None


def test_an_ambassador_grant_adds_nothing(admin_user, ambassador, community):
    assert community_scope(ambassador, Perm.FEEDBACK_HANDLE) == frozenset()
    assert office_scope(ambassador, Perm.FEEDBACK_HANDLE) == frozenset()
    assert not may_handle(ambassador, community_id=community.pk, office_id=None)


# --- may_handle -----------------------------------------------------------------------------------

# (who, item's community, item's office) → may handle?
CASES = [
    ("editor", "community", "office", True),
    ("editor", None, None, True),
    ("admin_user", None, None, True),
    ("city_admin", "other_community", None, True),
    ("coordinator", "community", None, True),
    ("coordinator", "community", "other_office", True),  # its community's, wherever routed
    ("coordinator", "other_community", None, False),
    ("coordinator", "other_community", "office", False),
    ("coordinator", None, "office", False),
    ("coordinator", None, None, False),
    ("responder", "community", "office", True),
    ("responder", "other_community", "office", True),  # its office's, in any community
    ("responder", None, "office", True),
    ("responder", "community", None, False),
    ("responder", "community", "other_office", False),
    ("responder", None, None, False),
    ("resident", "community", "office", False),
    ("ambassador", "community", "office", False),
]


@pytest.mark.parametrize(("who", "community_name", "office_name", "allowed"), CASES)
def test_may_handle(request, other_office, who, community_name, office_name, allowed):
    user = request.getfixturevalue(who)
    community_id = request.getfixturevalue(community_name).pk if community_name else None
    office_id = request.getfixturevalue(office_name).pk if office_name else None
    assert may_handle(user, community_id=community_id, office_id=office_id) is allowed


def test_may_handle_refuses_the_inactive_and_the_anonymous(editor, coordinator, community, office):
    assert not may_handle(AnonymousUser(), community_id=community.pk, office_id=office.pk)
    for user in (editor, coordinator):
        user.is_active = False
        assert not may_handle(user, community_id=community.pk, office_id=office.pk)


def test_a_revoked_grant_counts_once_the_user_is_read_again(admin_user, coordinator, community):
    from yulan.core.models import RoleGrant

    assert may_handle(coordinator, community_id=community.pk, office_id=None)
    RoleGrant.objects.filter(user=coordinator).delete()
    assert may_handle(coordinator, community_id=community.pk, office_id=None)  # read once per request
    fresh = User.objects.get(pk=coordinator.pk)
    assert not may_handle(fresh, community_id=community.pk, office_id=None)


# --- the handling filter, on real rows ----------------------------------------------------------------


@pytest.fixture
def items(community, other_community, office, other_office):
    from yulan.voice.models import Category, Item

    category = Category.objects.create(slug="streets", name={"en": "Streets"})
    places = {
        "here_office": (community, office),
        "here_elsewhere": (community, other_office),
        "here_unrouted": (community, None),
        "there_office": (other_community, office),
        "there_elsewhere": (other_community, other_office),
        "nowhere_office": (None, office),
        "nowhere": (None, None),
    }
    return {
        name: Item.objects.create(
            category=category, community=c, office=o, text=name, fingerprint=name, due_at="2030-01-01T00:00Z"
        )
        for name, (c, o) in places.items()
    }


def handled(user, items) -> set[str]:
    from yulan.voice.models import Item

    scope = handling_filter(user)
    rows = Item.objects.all() if scope is None else Item.objects.filter(scope)
    found = set(rows.values_list("pk", flat=True))
    return {name for name, item in items.items() if item.pk in found}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (
            "editor",
            {"here_office", "here_elsewhere", "here_unrouted", "there_office", "there_elsewhere"}
            | {"nowhere_office", "nowhere"},
        ),
        ("coordinator", {"here_office", "here_elsewhere", "here_unrouted"}),
        ("responder", {"here_office", "there_office", "nowhere_office"}),
        ("resident", set()),
        ("ambassador", set()),
    ],
)
def test_the_handling_filter_matches_may_handle(request, items, who, expected):
    user = request.getfixturevalue(who)
    assert handled(user, items) == expected
    for name, item in items.items():
        assert may_handle(user, community_id=item.community_id, office_id=item.office_id) == (name in expected)


def test_the_handling_filter_of_a_visitor_matches_nothing(items):
    assert handled(AnonymousUser(), items) == set()
