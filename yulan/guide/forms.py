from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from yulan.core.forms import TranslatedFieldsMixin
from yulan.core.models import Community
from yulan.guide.models import Category, Organization, Place


class ArticleForm(TranslatedFieldsMixin):
    translated_fields = {
        "title": (_("Title"), forms.TextInput, True),
        "summary": (_("Summary"), forms.Textarea, False),
        "body": (_("Text"), forms.Textarea, True),
    }
    slug = forms.CharField(label=_("Web address"), max_length=120, help_text=_("Like “public-transport”."))
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())
    community = forms.ModelChoiceField(
        label=_("Community"),
        queryset=Community.objects.all(),
        required=False,
        help_text=_("Leave empty for the whole city."),
    )
    source_language = forms.ChoiceField(label=_("Original language"), choices=settings.LANGUAGES)


class PlaceForm(TranslatedFieldsMixin):
    translated_fields = {
        "name": (_("Name"), forms.TextInput, True),
        "address": (_("Address"), forms.TextInput, True),
        "description": (_("Description"), forms.Textarea, False),
        "accessibility": (_("Accessibility"), forms.Textarea, False),
    }
    slug = forms.CharField(label=_("Web address"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=Place.Kind.choices)
    community = forms.ModelChoiceField(label=_("Community"), queryset=Community.objects.all(), required=False)
    organization = forms.ModelChoiceField(label=_("Run by"), queryset=Organization.objects.all(), required=False)
    # Coordinates are text so that a wrong value comes back as typed, with a clear message.
    latitude = forms.CharField(label=_("Latitude"), max_length=40, help_text=_("For example 31.2165"))
    longitude = forms.CharField(label=_("Longitude"), max_length=40, help_text=_("For example 121.4110"))
    wheelchair_accessible = forms.BooleanField(label=_("Wheelchair accessible"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=50, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    hours = forms.CharField(
        label=_("Opening hours"),
        required=False,
        widget=forms.Textarea(attrs={"rows": "5"}),
        help_text=_("One line each, like “Mon-Fri 09:00-17:00”; a day that differs: “2026-10-01 closed”."),
    )
    languages = forms.CharField(
        label=_("Languages spoken"),
        required=False,
        max_length=200,
        help_text=_("Language codes separated by commas, like “en, zh, ja”."),
    )
    services = forms.CharField(
        label=_("Services offered"),
        required=False,
        widget=forms.Textarea(attrs={"rows": "4"}),
        help_text=_("One service a line."),
    )
    source_language = forms.ChoiceField(label=_("Original language"), choices=settings.LANGUAGES)

    def __init__(self, *args: Any, communities: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if communities is not None:
            field = self.fields["community"]
            field.queryset = communities  # type: ignore[attr-defined]
            field.required = True
