from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from yulan.core.forms import TranslatedFieldsMixin
from yulan.core.models import Community
from yulan.news.models import Post, Subscriber, Topic


class PostForm(TranslatedFieldsMixin):
    translated_fields = {
        "title": (_("Title"), forms.TextInput, True),
        "summary": (_("Summary"), forms.Textarea, False),
        "body": (_("Text"), forms.Textarea, True),
    }
    slug = forms.CharField(label=_("Web address"), max_length=120, help_text=_("Like “metro-line-18-opens”."))
    kind = forms.ChoiceField(label=_("Kind"), choices=Post.Kind.choices)
    urgency = forms.ChoiceField(
        label=_("Urgency"),
        choices=Post.Urgency.choices,
        help_text=_("Urgent posts are e-mailed at once to subscribers of urgent notices."),
    )
    topics = forms.ModelMultipleChoiceField(
        label=_("Topics"), queryset=Topic.objects.all(), widget=forms.CheckboxSelectMultiple, required=False
    )
    communities = forms.ModelMultipleChoiceField(
        label=_("Communities"),
        queryset=Community.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None chosen: the whole city."),
    )
    publish_at = forms.DateTimeField(
        label=_("Publish at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty to publish at once; a later time schedules the post."),
    )
    source_language = forms.ChoiceField(label=_("Original language"), choices=settings.LANGUAGES)

    def __init__(self, *args: Any, communities: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if communities is not None:
            self.fields["communities"].queryset = communities  # type: ignore[attr-defined]


class SubscriptionForm(forms.Form):
    email = forms.CharField(label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    language = forms.ChoiceField(label=_("Language of the e-mails"), choices=settings.LANGUAGES)
    weekly = forms.BooleanField(label=_("The weekly bulletin"), required=False, initial=True)
    urgent = forms.BooleanField(label=_("Urgent notices, as soon as they are published"), required=False, initial=True)
    topics = forms.ModelMultipleChoiceField(
        label=_("Topics"),
        queryset=Topic.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None chosen: all topics."),
    )
    communities = forms.ModelMultipleChoiceField(
        label=_("Communities"),
        queryset=Community.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None chosen: news from all communities."),
    )


class PreferencesForm(SubscriptionForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["email"]


class BulletinScheduleForm(forms.Form):
    send_at = forms.DateTimeField(
        label=_("Send at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty to send now."),
    )


class SuppressForm(forms.Form):
    addresses = forms.CharField(
        label=_("Addresses"),
        widget=forms.Textarea(attrs={"rows": "5"}),
        help_text=_("One address a line, as reported by the mail provider."),
    )
    reason = forms.ChoiceField(label=_("Reason"), choices=Subscriber.Suppression.choices)
