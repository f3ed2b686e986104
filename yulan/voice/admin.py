"""The operator's admin for the feedback loop's setup. Feedback items are read here, never
changed (staff handle them in the staff area), and without their authors' contact details."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from yulan.core.admin import AuditedAdmin
from yulan.voice.models import ApiClient, Category, Item, RoutingRule, Tag


@admin.register(Category)
class CategoryAdmin(AuditedAdmin):
    list_display = ("slug", "name", "group", "response_hours", "position", "active")
    list_filter = ("active", "group")
    search_fields = ("slug", "keywords")


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedAdmin):
    list_display = ("__str__", "category", "community", "office")
    list_filter = ("office",)


@admin.register(Tag)
class TagAdmin(AuditedAdmin):
    list_display = ("slug", "name")
    search_fields = ("slug", "name")


@admin.register(ApiClient)
class ApiClientAdmin(AuditedAdmin):
    """Keys are made with `manage.py open311_key create NAME`, which prints the key once; only
    its digest is stored. Here a client may be renamed or switched off."""

    list_display = ("name", "key_prefix", "active", "created_at", "last_used_at")
    list_filter = ("active",)
    search_fields = ("name", "key_prefix")
    fields = ("name", "active", "key_prefix", "key_digest", "created_at", "last_used_at")
    readonly_fields = ("key_prefix", "key_digest", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    """Read-only, and without contact details, the account or the tracking secret."""

    list_display = ("id", "category", "kind", "status", "community", "office", "source", "created_at", "due_at")
    list_filter = ("status", "kind", "source", "category")
    search_fields = ("=id",)
    list_select_related = ("category", "community", "office")
    date_hierarchy = "created_at"
    fields = (
        "kind",
        "category",
        "community",
        "office",
        "assignee",
        "text",
        "language",
        "latitude",
        "longitude",
        "address",
        "media_url",
        "public_consent",
        "hidden",
        "status",
        "status_reason",
        "merged_into",
        "source",
        "event",
        "api_client",
        "created_at",
        "updated_at",
        "status_changed_at",
        "due_at",
        "first_response_at",
        "closed_at",
        "supporters_count",
        "followers_count",
        "anonymised_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("contact_name", "contact_email", "contact_phone", "secret")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
