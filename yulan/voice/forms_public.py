"""Forms of the public feedback pages. They collect what was typed; the services check it (the
same checks as for the Open311 API) and their messages are shown beside the field at fault."""

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError
from yulan.core.i18n import localize
from yulan.core.models import Community
from yulan.voice import selectors
from yulan.voice.models import Item


def _category_choices() -> list[tuple[str, str]]:
    return [(c.slug, localize(c.name).text) for c in selectors.categories_active()]


def _community_choices() -> list[tuple[str, str]]:
    return [(c.slug, localize(c.name).text) for c in Community.objects.all()]


class ApplicationErrorsMixin(forms.Form):
    def add_application_error(self, error: ApplicationError) -> None:
        """Show a service's error beside the field it names (or above the form)."""
        self.add_error(error.field if error.field in self.fields else None, str(error.message))


class FeedbackForm(ApplicationErrorsMixin):
    kind = forms.ChoiceField(
        label=_("What is it?"), choices=Item.Kind.choices, widget=forms.RadioSelect, initial=Item.Kind.PROBLEM
    )
    category = forms.ChoiceField(label=_("Category"), choices=[])
    community = forms.ChoiceField(
        label=_("Community (optional)"),
        choices=[],
        required=False,
        help_text=_("Where you live or where it happens. Leave it if you are not sure."),
    )
    # Checked by the service, whose messages say what is wrong; the browser keeps to the limit.
    text = forms.CharField(
        label=_("What would you like to tell us?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 7}),
    )
    latitude = forms.CharField(required=False, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, widget=forms.HiddenInput)
    address = forms.CharField(
        label=_("Address or place (optional)"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
        help_text=_("For example: the crossing of Hongqiao Road and Yili Road, or the bus stop at the park gate."),
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/*"}),
    )
    anonymous = forms.BooleanField(
        label=_("Send anonymously"),
        required=False,
        help_text=_("We keep no name or contact details, so we cannot write back to you: keep the tracking link."),
    )
    contact_name = forms.CharField(
        label=_("Your name (optional)"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_email = forms.CharField(
        label=_("E-mail (optional)"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We send you the tracking link and write when there is an answer."),
    )
    contact_phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    public_consent = forms.BooleanField(
        label=_("Show my feedback on the public feedback page"),
        required=False,
        initial=False,
        help_text=_(
            "Your text, photo, category and place are then shown to everyone, never your name or contact details, "
            "and others can support and follow it. Without this, only the staff handling it see it."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", _("Choose a category")), *_category_choices()]
        cast(forms.ChoiceField, self.fields["community"]).choices = [
            ("", _("Not sure, or none")),
            *_community_choices(),
        ]
        limit = settings.YULAN_FEEDBACK_MAX_CHARS
        self.fields["text"].widget.attrs["maxlength"] = str(limit)
        self.fields["text"].help_text = _(
            "In any language, at most %(n)d characters. Please leave out personal details such as passport numbers."
        ) % {"n": limit}
        self.fields["photo"].help_text = _(
            "A JPEG, PNG, WebP or GIF picture of at most %(mb)s MB. Where and when it was taken is removed before "
            "it is kept."
        ) % {"mb": round(settings.YULAN_FEEDBACK_PHOTO_MAX_BYTES / 1_000_000, 1)}
        self.fields["text"].widget.attrs["required"] = True
        self.fields["category"].error_messages["invalid_choice"] = _("Choose one of the listed categories.")
        self.fields["community"].error_messages["invalid_choice"] = _("Choose one of the listed communities.")
        self.fields["category"].error_messages["required"] = _("Choose a category.")
        self.fields["kind"].error_messages["invalid_choice"] = _("Choose suggestion, problem or idea.")


class FollowForm(ApplicationErrorsMixin):
    email = forms.CharField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": _("Enter your e-mail address.")},
    )


class MyDataForm(ApplicationErrorsMixin):
    email = forms.CharField(
        label=_("The e-mail address you gave with your feedback"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": _("Enter your e-mail address.")},
    )


class ListFilterForm(forms.Form):
    community = forms.SlugField(label=_("Community"), required=False)
    category = forms.SlugField(label=_("Category"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Open and closed")), ("open", _("Open")), ("closed", _("Closed"))],
        required=False,
    )
