"""Forms of the feedback reports: the period and scope of live figures, a new report, and a
report's sharing.

The community is read from its code: any known community parses, and the service decides
whether the user may report on it (a coordinator asking for another community is refused, not
told the choice is unknown). The list only offers the communities the user may choose."""

import datetime
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize
from yulan.core.models import Community, Office
from yulan.voice import reports
from yulan.voice.models import Category, Report

DAY_RANGE = [MinValueValidator(reports.FIRST_DAY), MaxValueValidator(reports.LAST_DAY)]
WHOLE_CITY = ""


class _NamedChoiceField(forms.ModelChoiceField):
    """A choice of a row by its code, listed by its name in the reader's language."""

    def label_from_instance(self, obj: Any) -> str:
        return localize(obj.name).text or obj.slug


class ScopeForm(forms.Form):
    """The period and what it covers: the live figures' query, and the base of a new report."""

    start = forms.DateField(
        label=_("From"), validators=DAY_RANGE, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=_("To"), validators=DAY_RANGE, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    community = forms.CharField(label=_("Community"), required=False, widget=forms.Select)
    office = _NamedChoiceField(
        label=_("Office"),
        queryset=Office.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("All offices"),
    )
    category = _NamedChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label=_("All categories"),
    )

    def __init__(self, *args: Any, scope: frozenset[int] | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        communities = Community.objects.all() if scope is None else Community.objects.filter(pk__in=sorted(scope))
        choices: list[tuple[str, str]] = [(WHOLE_CITY, str(_("The whole city")))] if scope is None else []
        choices += sorted(
            ((c.slug, localize(c.name).text or c.slug) for c in communities), key=lambda choice: choice[1].lower()
        )
        self.fields["community"].widget.choices = choices

    def clean_community(self) -> Community | None:
        slug = (self.cleaned_data.get("community") or "").strip()
        if slug == WHOLE_CITY:
            return None
        found = Community.objects.filter(slug=slug).first()
        if found is None:
            raise forms.ValidationError(_("Choose one of the listed communities."), code="invalid_choice")
        return found

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if isinstance(start, datetime.date) and isinstance(end, datetime.date):
            try:
                reports.clean_period(start, end)
            except ApplicationError as exc:
                self.add_application_error(exc)
        return cleaned

    def scope_arguments(self) -> dict[str, Any]:
        cd = self.cleaned_data
        return {
            "start": cd["start"],
            "end": cd["end"],
            "community_id": cd["community"].pk if cd.get("community") else None,
            "office_id": cd["office"].pk if cd.get("office") else None,
            "category_id": cd["category"].pk if cd.get("category") else None,
        }

    def add_application_error(self, error: ApplicationError) -> None:
        """A service's error beside the field it names (or above the form)."""
        self.add_error(error.field if error.field in self.fields else None, str(error.message))

    def error_summary(self) -> list[str]:
        """Every error, each naming its field: for the box above the form."""
        lines = [str(e) for e in self.non_field_errors()]
        for name, errors in self.errors.items():
            if name in self.fields:
                lines += [f"{self.fields[name].label}: {e}" for e in errors]
        return lines


class ReportForm(ScopeForm):
    title = forms.CharField(label=_("Title"), max_length=200)
    sharing = forms.ChoiceField(label=_("Shared with"), choices=Report.Sharing.choices, initial=Report.Sharing.PRIVATE)

    field_order = ["title", "start", "end", "community", "office", "category", "sharing"]


class ShareForm(forms.Form):
    sharing = forms.ChoiceField(label=_("Shared with"), choices=Report.Sharing.choices)
