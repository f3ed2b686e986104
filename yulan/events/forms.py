import datetime
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from yulan.core.errors import ApplicationError
from yulan.core.forms import TranslatedFieldsMixin
from yulan.core.i18n import localize
from yulan.core.models import Community
from yulan.events.models import Event, Question
from yulan.guide.models import Place
from yulan.news.addresses import clean_address

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
# Dates a period may start or end on (beyond them, adding a day or a time zone overflows).
DAY_RANGE = [MinValueValidator(datetime.date(1900, 1, 1)), MaxValueValidator(datetime.date(9000, 12, 31))]
COMMON_TIME_ZONES = sorted(
    {settings.TIME_ZONE, "UTC", "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul", "Europe/Paris", "Europe/Berlin"}
    | {"Europe/Madrid", "Europe/Moscow", "Europe/London", "America/New_York", "America/Los_Angeles"}
)


class WallClockField(forms.DateTimeField):
    """A date and time as read on a clock in the event's own time zone: kept naive here and
    placed in that zone by the service."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)
    input_formats = [LOCAL_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]

    def to_python(self, value: Any) -> datetime.datetime | None:
        if isinstance(value, datetime.datetime):
            return value.replace(tzinfo=None)
        value = (value or "").strip() if isinstance(value, str) else value
        if not value:
            return None
        for fmt in self.input_formats:
            try:
                return datetime.datetime.strptime(value, fmt)
            except (TypeError, ValueError):
                continue
        raise forms.ValidationError(_("Enter a date and time like 2026-12-24 18:30."), code="invalid")

    def prepare_value(self, value: Any) -> Any:
        return value.strftime(LOCAL_FORMAT) if isinstance(value, datetime.datetime) else value


class EventForm(TranslatedFieldsMixin):
    translated_fields = {
        "title": (_("Title"), forms.TextInput, True),
        "description": (_("Description"), forms.Textarea, False),
        "audience": (_("Audience notes"), forms.Textarea, False),
        "venue_note": (_("Room or directions"), forms.TextInput, False),
    }
    slug = forms.CharField(label=_("Web address"), max_length=120, help_text=_("Like “spring-festival-fair-2027”."))
    kind = forms.ChoiceField(label=_("Type"), choices=Event.Kind.choices)
    community = forms.ModelChoiceField(
        label=_("Community"),
        queryset=Community.objects.all(),
        required=False,
        empty_label=_("The whole city"),
    )
    place = forms.ModelChoiceField(
        label=_("Venue"),
        queryset=Place.objects.filter(is_published=True),
        required=False,
        empty_label=_("No venue (online only)"),
        help_text=_("A place from the directory."),
    )
    online_url = forms.URLField(label=_("Online link"), required=False, assume_scheme="https")
    time_zone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        initial=settings.TIME_ZONE,
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
        help_text=_("The start and end are times in this zone."),
    )
    starts_at = WallClockField(label=_("Starts"))
    ends_at = WallClockField(label=_("Ends"))
    languages = forms.MultipleChoiceField(
        label=_("Languages of the event"),
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    capacity = forms.IntegerField(
        label=_("Capacity (places)"), required=False, min_value=1, help_text=_("Leave empty for no limit.")
    )
    max_party_size = forms.IntegerField(label=_("Places per registration"), min_value=1, max_value=50, initial=4)
    waitlist_enabled = forms.BooleanField(label=_("Keep a waiting list when full"), required=False, initial=True)
    registration_opens_at = WallClockField(label=_("Registration opens"), required=False)
    registration_closes_at = WallClockField(
        label=_("Registration closes"), required=False, help_text=_("Leave empty to close when the event starts.")
    )
    contact_name = forms.CharField(label=_("Organiser contact"), max_length=150, required=False)
    contact_email = forms.CharField(label=_("Organiser e-mail"), max_length=254, required=False)
    contact_phone = forms.CharField(label=_("Organiser phone"), max_length=50, required=False)
    source_language = forms.ChoiceField(label=_("Original language"), choices=settings.LANGUAGES)

    def __init__(self, *args: Any, communities: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if communities is not None:
            self.fields["community"].queryset = communities  # type: ignore[attr-defined]

    time_zones = COMMON_TIME_ZONES


class QuestionForm(TranslatedFieldsMixin):
    translated_fields = {
        "label": (_("Question"), forms.TextInput, True),
        "choices": (_("Choices, one a line"), forms.Textarea, False),
    }
    kind = forms.ChoiceField(label=_("Kind of answer"), choices=Question.Kind.choices)
    required = forms.BooleanField(label=_("Answer required"), required=False)


class PointForm(forms.Form):
    text = forms.CharField(
        label=_("Point raised"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=settings.YULAN_FEEDBACK_MAX_CHARS,
    )
    raised_by = forms.CharField(label=_("Raised by (optional)"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    category = forms.ChoiceField(label=_("Feedback category"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from yulan.voice.selectors import categories_active

        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Default"))] + [(c.slug, str(c)) for c in categories_active()]


class RegistrationForm(forms.Form):
    """Name, address (without an account), places and the organiser's questions."""

    name = forms.CharField(label=_("Your name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.CharField(label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    party_size = forms.IntegerField(label=pgettext_lazy("seats", "Places"), min_value=1, initial=1)

    def __init__(self, *args: Any, event: Event, with_email: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        if not with_email:
            del self.fields["email"]
            self.fields["name"].required = False
        party = self.fields["party_size"]
        party.validators.append(MaxValueValidator(event.max_party_size))
        party.widget.attrs.update({"min": 1, "max": event.max_party_size, "inputmode": "numeric"})
        party.help_text = _("Yourself and anyone coming with you: at most %(n)d.") % {"n": event.max_party_size}
        party.error_messages["max_value"] = party.help_text
        if event.max_party_size == 1:
            party.widget = forms.HiddenInput()
        self.question_fields: list[str] = []
        for question in event.questions.all():
            name = f"q{question.pk}"
            label = localize(question.label, fallback=event.source_language).text
            field: forms.Field
            if question.kind == Question.Kind.YESNO:
                field = forms.ChoiceField(
                    label=label,
                    choices=[("yes", _("Yes")), ("no", _("No"))],
                    widget=forms.RadioSelect,
                    required=question.required,
                )
            elif question.kind == Question.Kind.CHOICE:
                options = [(str(i), text) for i, text in enumerate(question.choice_list(None))]
                field = forms.ChoiceField(label=label, choices=[("", "—"), *options], required=question.required)
            else:
                field = forms.CharField(label=label, max_length=1000, required=question.required)
            self.fields[name] = field
            self.question_fields.append(name)

    def clean_email(self) -> str:
        """Checked here too, so that a bad address shows beside the other mistakes at once."""
        try:
            return clean_address(self.cleaned_data.get("email", ""))
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from None

    def answers(self) -> dict[str, str]:
        return {name[1:]: self.cleaned_data.get(name) or "" for name in self.question_fields}

    def questions(self) -> list[forms.BoundField]:
        return [self[name] for name in self.question_fields]


class CheckInForm(forms.Form):
    code = forms.CharField(
        label=_("Registration code"),
        max_length=300,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "autofocus": True}
        ),
        help_text=_("Type the code, or scan the QR code."),
    )


class AttendanceForm(forms.Form):
    date_from = forms.DateField(label=_("From"), validators=DAY_RANGE, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), validators=DAY_RANGE, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the period must not be before its start."))
        return cleaned


class EventFilterForm(forms.Form):
    community = forms.SlugField(required=False)
    kind = forms.ChoiceField(label=_("Type"), choices=[("", _("All types")), *Event.Kind.choices], required=False)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("Any language")), *settings.LANGUAGES], required=False
    )
    date_from = forms.DateField(
        label=_("From"), validators=DAY_RANGE, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), validators=DAY_RANGE, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    free = forms.BooleanField(label=_("With free places"), required=False)


def valid_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return False
    return True
