from django.contrib import admin

from yulan.core.admin import AuditedAdmin
from yulan.guide.models import Category, Organization


@admin.register(Category, Organization)
class GuideNamedAdmin(AuditedAdmin):
    list_display = ("slug", "name")
    search_fields = ("slug",)
