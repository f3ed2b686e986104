from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    name = "yulan.voice"
    label = "voice"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from yulan.voice import emails, reference, survey_emails

        emails.register()
        survey_emails.register()
        reference.connect()
