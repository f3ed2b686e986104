"""Writes that belong to no single capability: the audit log and role grants."""

import datetime
import decimal
from typing import Any

from django.db import models, transaction
from i18nfield.strings import LazyI18nString

from yulan.core.models import AuditEntry, Community, Office, RoleGrant, User
from yulan.core.permissions import forget_grants


def _plain(value: Any) -> Any:
    if isinstance(value, LazyI18nString):
        return value.data
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The concrete field values of a row, as JSON-able data, for the audit log."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        data[field.attname] = _plain(getattr(instance, field.attname))
    return data


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        before=before,
        after=after,
    )


def role_grant(
    *,
    actor: User | None,
    user: User,
    role: str,
    community: Community | None = None,
    office: Office | None = None,
) -> RoleGrant:
    with transaction.atomic():
        grant, created = RoleGrant.objects.get_or_create(user=user, role=role, community=community, office=office)
        if created:
            audit_record(actor=actor, action="role.grant", target=grant, after=snapshot(grant))
    forget_grants(user)
    return grant
