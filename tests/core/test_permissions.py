import pytest
from django.db import IntegrityError, transaction

from yulan.core.errors import NotAllowed
from yulan.core.models import Role, RoleGrant
from yulan.core.permissions import Perm, community_scope, has_perm, require, require_for_community


def test_an_anonymous_visitor_has_no_staff_right(db):
    from django.contrib.auth.models import AnonymousUser

    assert not has_perm(AnonymousUser(), Perm.STAFF_AREA)


def test_a_resident_without_roles_is_not_staff(resident):
    assert not has_perm(resident, Perm.STAFF_AREA)
    with pytest.raises(NotAllowed):
        require(resident, Perm.GUIDE_WRITE)


def test_an_editor_writes_and_publishes_the_guide_everywhere(editor, community):
    assert has_perm(editor, Perm.GUIDE_WRITE)
    assert has_perm(editor, Perm.GUIDE_PUBLISH)
    assert has_perm(editor, Perm.DIRECTORY_WRITE, community_id=community.pk)
    assert community_scope(editor, Perm.DIRECTORY_WRITE) is None
    assert not has_perm(editor, Perm.AUDIT_VIEW)


def test_a_coordinator_acts_only_inside_its_community(coordinator, community, other_community):
    assert has_perm(coordinator, Perm.DIRECTORY_WRITE, community_id=community.pk)
    assert not has_perm(coordinator, Perm.DIRECTORY_WRITE, community_id=other_community.pk)
    assert not has_perm(coordinator, Perm.GUIDE_WRITE)
    assert community_scope(coordinator, Perm.DIRECTORY_WRITE) == {community.pk}
    require_for_community(coordinator, Perm.DIRECTORY_WRITE, community.pk)
    with pytest.raises(NotAllowed):
        require_for_community(coordinator, Perm.DIRECTORY_WRITE, other_community.pk)
    with pytest.raises(NotAllowed):
        require_for_community(coordinator, Perm.DIRECTORY_WRITE, None)  # city-wide


def test_a_responder_is_scoped_to_its_office(responder, office, community):
    assert has_perm(responder, Perm.STAFF_AREA)
    assert has_perm(responder, Perm.STAFF_AREA, office_id=office.pk)
    assert not has_perm(responder, Perm.STAFF_AREA, office_id=office.pk + 1)
    assert not has_perm(responder, Perm.STAFF_AREA, community_id=community.pk)
    assert not has_perm(responder, Perm.DIRECTORY_WRITE)


def test_an_inactive_user_loses_every_right(editor):
    editor.is_active = False
    assert not has_perm(editor, Perm.GUIDE_WRITE)


def test_a_coordinator_grant_must_name_a_community(resident, office):
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(user=resident, role=Role.COORDINATOR)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(user=resident, role=Role.EDITOR, office=office)


def test_granting_a_role_is_audited_and_not_duplicated(admin_user, resident, community):
    from yulan.core.models import AuditEntry
    from yulan.core.services import role_grant

    role_grant(actor=admin_user, user=resident, role=Role.COORDINATOR, community=community)
    role_grant(actor=admin_user, user=resident, role=Role.COORDINATOR, community=community)
    assert RoleGrant.objects.filter(user=resident).count() == 1
    entry = AuditEntry.objects.get(action="role.grant", target_id=str(RoleGrant.objects.get(user=resident).pk))
    assert entry.actor == admin_user
    assert entry.after["community_id"] == community.pk


def test_admin_changes_are_audited_with_before_and_after(client, admin_user, district):
    from yulan.core.models import AuditEntry

    client.force_login(admin_user)
    response = client.post(
        f"/admin/core/district/{district.pk}/change/",
        {"slug": "changning-new", "name_0": "Changning", "name_1": "长宁区"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="admin.change")
    assert entry.before["slug"] == "changning"
    assert entry.after["slug"] == "changning-new"
    assert entry.actor == admin_user
