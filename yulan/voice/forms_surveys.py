"""Forms of surveys: the staff's survey and question forms, and the public answer form built
from a survey's questions."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError
from yulan.core.forms import TranslatedFieldsMixin
from yulan.core.i18n import localize
from yulan.core.models import Community
from yulan.news.addresses import clean_address
from yulan.voice import surveys
from yulan.voice.models import Survey, SurveyQuestion

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
Kind = SurveyQuestion.Kind


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=LOCAL_FORMAT)


class SurveyForm(TranslatedFieldsMixin):
    translated_fields = {
        "title": (_("Title"), forms.TextInput, True),
        "intro": (_("Introduction"), forms.Textarea, False),
    }
    slug = forms.CharField(
        label=_("Web address"), max_length=120, help_text=_("Like “community-centre-opening-hours”.")
    )
    community = forms.ModelChoiceField(
        label=_("Who is it for?"),
        queryset=Community.objects.all(),
        required=False,
        empty_label=_("The whole city"),
        help_text=_("A community survey asks respondents to confirm they live or work there."),
    )
    opens_at = forms.DateTimeField(
        label=_("Opens"),
        required=False,
        widget=LocalDateTimeInput(),
        input_formats=[LOCAL_FORMAT, "%Y-%m-%d %H:%M"],
        help_text=_("Leave empty to take answers as soon as it is opened."),
    )
    closes_at = forms.DateTimeField(
        label=_("Closes"),
        required=False,
        widget=LocalDateTimeInput(),
        input_formats=[LOCAL_FORMAT, "%Y-%m-%d %H:%M"],
        help_text=_("Leave empty to take answers until it is closed by hand."),
    )

    def __init__(self, *args: Any, communities: Any = None, city_wide: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["community"]
        assert isinstance(field, forms.ModelChoiceField)
        if communities is not None:
            field.queryset = communities
        # Only those who may run surveys everywhere choose "the whole city".
        if not city_wide:
            field.empty_label = None
            field.required = True

    def survey_input(self) -> surveys.SurveyInput:
        cd = self.cleaned_data
        return surveys.SurveyInput(
            slug=cd["slug"],
            title=self.translations("title"),
            intro=self.translations("intro"),
            community_id=cd["community"].pk if cd.get("community") else None,
            opens_at=cd.get("opens_at"),
            closes_at=cd.get("closes_at"),
        )


class QuestionForm(TranslatedFieldsMixin):
    translated_fields = {
        "label": (_("Question"), forms.TextInput, True),
        "choices": (_("Choices, one a line (for one or several choices)"), forms.Textarea, False),
    }
    kind = forms.ChoiceField(label=_("Kind of answer"), choices=Kind.choices)
    scale_min = forms.IntegerField(
        label=_("Scale from"),
        min_value=surveys.SCALE_LOWEST,
        max_value=surveys.SCALE_HIGHEST,
        initial=1,
        required=False,
    )
    scale_max = forms.IntegerField(
        label=_("Scale to"),
        min_value=surveys.SCALE_LOWEST,
        max_value=surveys.SCALE_HIGHEST,
        initial=5,
        required=False,
        help_text=_("For a scale: whole numbers from 0 to 10."),
    )
    required = forms.BooleanField(label=_("Answer required"), required=False)

    def question_input(self) -> surveys.QuestionInput:
        cd = self.cleaned_data
        return surveys.QuestionInput(
            label=self.translations("label"),
            kind=cd["kind"],
            required=cd.get("required", False),
            choices=self.translations("choices"),
            scale_min=1 if cd.get("scale_min") is None else int(cd["scale_min"]),
            scale_max=5 if cd.get("scale_max") is None else int(cd["scale_max"]),
        )


class AnswerForm(forms.Form):
    """One field per question ("q<id>"), the address of someone without an account, and for a
    community survey a box to confirm living or working there."""

    def __init__(self, *args: Any, survey: Survey, with_email: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.survey = survey
        self.question_fields: list[str] = []
        for question in survey.questions.all():
            name = f"q{question.pk}"
            self.fields[name] = self._field(question)
            self.question_fields.append(name)
        if survey.community_id is not None:
            community = localize(survey.community.name).text if survey.community else ""
            self.fields["in_community"] = forms.BooleanField(
                label=_("I live or work in %(community)s.") % {"community": community},
                error_messages={
                    "required": _("This survey is for people who live or work in %(community)s.")
                    % {"community": community}
                },
            )
        if with_email:
            self.fields["email"] = forms.CharField(
                label=_("Your e-mail address"),
                max_length=254,
                widget=forms.EmailInput(attrs={"autocomplete": "email"}),
                help_text=_("We send you a link to confirm your answers: they count once confirmed."),
            )

    @staticmethod
    def _field(question: SurveyQuestion) -> forms.Field:
        label = localize(question.label).text
        required = question.required
        messages = {"required": _("Please answer this question."), "invalid_choice": _("Choose from the list.")}
        if question.kind == Kind.SINGLE:
            options = [(str(i), text) for i, text in enumerate(question.choice_list())]
            return forms.ChoiceField(
                label=label, choices=options, widget=forms.RadioSelect, required=required, error_messages=messages
            )
        if question.kind == Kind.MULTIPLE:
            options = [(str(i), text) for i, text in enumerate(question.choice_list())]
            return forms.MultipleChoiceField(
                label=label,
                choices=options,
                widget=forms.CheckboxSelectMultiple,
                required=required,
                error_messages=messages,
                help_text=_("Choose all that apply."),
            )
        if question.kind == Kind.SCALE:
            options = [(str(v), str(v)) for v in range(question.scale_min, question.scale_max + 1)]
            return forms.ChoiceField(
                label=label,
                choices=options,
                widget=forms.RadioSelect(attrs={"class": "scale"}),
                required=required,
                error_messages=messages,
                help_text=_("From %(low)d (lowest) to %(high)d (highest).")
                % {"low": question.scale_min, "high": question.scale_max},
            )
        return forms.CharField(
            label=label,
            required=required,
            max_length=surveys.TEXT_MAX_CHARS,
            widget=forms.Textarea(attrs={"rows": 4}),
            error_messages={
                **messages,
                "max_length": _("Please keep the answer under %(limit)d characters.")
                % {"limit": surveys.TEXT_MAX_CHARS},
            },
        )

    def clean_email(self) -> str:
        try:
            return clean_address(self.cleaned_data.get("email", ""))
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from None

    def answers(self) -> dict[str, Any]:
        return {name[1:]: self.cleaned_data.get(name) for name in self.question_fields}

    def questions(self) -> list[forms.BoundField]:
        return [self[name] for name in self.question_fields]

    def add_application_error(self, error: ApplicationError) -> None:
        self.add_error(error.field if error.field in self.fields else None, str(error.message))
