from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NewsConfig(AppConfig):
    name = "yulan.news"
    label = "news"
    verbose_name = _("News and bulletin")

    def ready(self) -> None:
        from yulan.news import emails

        emails.register()
