"""Form helpers. A translatable field becomes one input per site language, grouped under one
legend, and is read back as a `{lang: text}` mapping."""

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError


class TranslatedFieldsMixin(forms.Form):
    """Declare `translated_fields = {"title": (label, widget_class, required)}`."""

    translated_fields: dict[str, tuple[Any, type[forms.Widget], bool]] = {}

    def __init__(self, *args: Any, initial_translations: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        initial_translations = initial_translations or {}
        for name, (_label, widget, _required) in self.translated_fields.items():
            data = initial_translations.get(name) or {}
            for code, lang_name in settings.LANGUAGES:
                key = f"{name}__{code}"
                attrs = {"lang": code}
                if widget is forms.Textarea:
                    attrs["rows"] = "6" if name == "body" or name == "description" else "3"
                self.fields[key] = forms.CharField(
                    label=lang_name, required=False, widget=widget(attrs=attrs), initial=data.get(code, "")
                )

    def translation_groups(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "label": label,
                "required": required,
                "fields": [self[f"{name}__{code}"] for code, _n in settings.LANGUAGES],
                "errors": self.errors.get(name),
            }
            for name, (label, _w, required) in self.translated_fields.items()
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, (_label, _widget, required) in self.translated_fields.items():
            if required and not any(cleaned.get(f"{name}__{code}", "").strip() for code, _n in settings.LANGUAGES):
                self.errors.setdefault(name, self.error_class()).append(
                    str(_("This field is required in at least one language."))
                )
        return cleaned

    def translations(self, name: str) -> dict[str, str]:
        return {code: self.cleaned_data.get(f"{name}__{code}", "") for code, _n in settings.LANGUAGES}

    def add_application_error(self, error: ApplicationError) -> None:
        """Show a service's error beside the field it names (or above the form)."""
        field = error.field if error.field in self.fields or error.field in self.translated_fields else None
        if field in self.translated_fields:
            self.errors.setdefault(field, self.error_class()).append(str(error.message))
        else:
            self.add_error(field, str(error.message))
