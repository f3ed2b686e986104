"""The operator's admin. Every save and delete made here is written to the audit log too."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Model
from django.http import HttpRequest
from i18nfield.admin import I18nModelAdmin

from yulan.core.models import AuditEntry, Community, District, Office, OutgoingMail, RoleGrant, User
from yulan.core.pagecache import public_pages_changed
from yulan.core.services import audit_record, snapshot


class AuditedAdmin(I18nModelAdmin):
    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        before = snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change and obj.pk else None
        super().save_model(request, obj, form, change)
        public_pages_changed()
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=f"admin.{'change' if change else 'add'}",
            target=obj,
            before=before,
            after=snapshot(obj),
        )

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        audit_record(actor=request.user, action="admin.delete", target=obj, before=snapshot(obj))  # type: ignore[arg-type]
        super().delete_model(request, obj)
        public_pages_changed()


@admin.register(District, Office)
class NamedAdmin(AuditedAdmin):
    list_display = ("slug", "name")
    search_fields = ("slug",)


@admin.register(Community)
class CommunityAdmin(AuditedAdmin):
    list_display = ("slug", "name", "district", "estimated_foreign_population")
    list_filter = ("district",)


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin, AuditedAdmin):
    ordering = ("email",)
    list_display = ("email", "display_name", "is_active", "is_staff")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password", "display_name", "preferred_language", "district")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    list_filter = ("is_active", "is_staff")
    filter_horizontal = ()
    inlines = [RoleGrantInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "target_type", "target_id")
    list_filter = ("action", "target_type")
    search_fields = ("target_id",)
    readonly_fields = ("at", "actor", "action", "target_type", "target_id", "before", "after")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutgoingMail)
class OutgoingMailAdmin(admin.ModelAdmin):
    """Read-only: the outbox is written by the site and its workers only."""

    list_display = ("id", "kind", "stream", "to_email", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("to_email", "stream")
    readonly_fields = [f.name for f in OutgoingMail._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
