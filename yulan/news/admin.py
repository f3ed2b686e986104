from django.contrib import admin

from yulan.core.admin import AuditedAdmin
from yulan.news.models import Topic


@admin.register(Topic)
class TopicAdmin(AuditedAdmin):
    list_display = ("slug", "name", "position")
    search_fields = ("slug",)
