"""Forms of the staff side of the feedback loop: the queue's filters and bulk actions, the
forms on an item's page, routing rules and categories. They read and check what was typed;
the services decide what may be done."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from yulan.core.errors import ApplicationError
from yulan.core.forms import TranslatedFieldsMixin
from yulan.core.models import Community, Office, User
from yulan.voice import services, staff_selectors
from yulan.voice.models import Category, Item, Reply
from yulan.voice.selectors import QueueFilters

Status = Item.Status

# Ids beyond this are no item's (and would overflow a database integer).
MAX_ID = 2**31 - 1


def person_label(person: User) -> str:
    return f"{person.display_name} ({person.email})" if person.display_name else person.email


def parse_reference(value: str) -> int | None:
    """An item number as typed: "1234" or "#1234"; None if it is not one."""
    term = (value or "").strip().lstrip("#").strip()
    if term.isascii() and term.isdigit() and 0 < int(term) <= MAX_ID:
        return int(term)
    return None


class ApplicationErrorMixin:
    """Show a service's error beside the field it names (or above the form)."""

    def add_application_error(self, error: ApplicationError) -> None:
        form: Any = self
        field = error.field if error.field in form.fields else None
        form.add_error(field, str(error.message))


# --- the queue ----------------------------------------------------------------------------------


class PlainSelect(forms.Select):
    """A select written out in Python instead of through a template for each option: the same
    HTML as Django's select (its attributes in the same order, the first matching option
    selected), at a fraction of the cost on a page with hundreds of options. Plain choices
    only; groups and multiple choice go the usual way."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        choices = list(self.choices)
        if self.allow_multiple_selected or any(isinstance(label, (list, tuple)) for _value, label in choices):
            return super().render(name, value, attrs, renderer)
        chosen = set(self.format_value(value))
        html = [f'<select name="{conditional_escape(name)}"{_attributes(self.build_attrs(self.attrs, attrs))}>']
        found = False
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            selected = not found and option_value in chosen
            found = found or selected
            html.append(
                f'\n  <option value="{escape(option_value)}"{" selected" if selected else ""}>'
                f"{conditional_escape(str(label))}</option>"
            )
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


def _attributes(attrs: dict[str, Any]) -> str:
    """HTML attributes as Django's widget template writes them: True alone, False left out."""
    return "".join(
        f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


# A value not in the list, as Django's model choice fields say it (without repeating the value).
_NOT_LISTED = {"invalid_choice": forms.ModelChoiceField.default_error_messages["invalid_choice"]}


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string. A value that is not understood is left
    out (and said so), never an error page."""

    status = forms.ChoiceField(label=_("Status"), required=False, widget=PlainSelect)
    office = forms.ChoiceField(label=_("Office"), required=False, widget=PlainSelect, error_messages=_NOT_LISTED)
    community = forms.ChoiceField(label=_("Community"), required=False, widget=PlainSelect, error_messages=_NOT_LISTED)
    category = forms.ChoiceField(label=_("Category"), required=False, widget=PlainSelect, error_messages=_NOT_LISTED)
    assignee = forms.ChoiceField(label=_("Assigned to"), required=False, widget=PlainSelect)
    # Typed, with the page's list of themes to pick from; the name or the code of a theme.
    theme = forms.CharField(
        label=_("Theme"), required=False, max_length=80, widget=forms.TextInput(attrs={"list": "themes"})
    )
    language = forms.ChoiceField(label=_("Language"), required=False, widget=PlainSelect)
    q = forms.CharField(
        label=_("Search text or #number"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(
        self,
        *args: Any,
        user: User,
        people: list[User],
        names: staff_selectors.Names | None = None,
        themes: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        names = names or staff_selectors.names()
        self.themes = staff_selectors.theme_names() if themes is None else themes
        fields: Any = self.fields
        fields["status"].choices = [("open", _("Open")), ("all", _("All")), *Status.choices]
        fields["office"].choices = [("", _("Any office")), *names.offices.items()]
        fields["community"].choices = [("", _("Any community")), *names.communities.items()]
        fields["category"].choices = [("", _("Any category")), *names.categories.items()]
        others = [(str(p.pk), person_label(p)) for p in people if p.pk != user.pk]
        fields["assignee"].choices = [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody yet")), *others]
        fields["language"].choices = [("", _("Any language")), *staff_selectors.item_languages()]

    def clean_theme(self) -> str:
        """The code of the theme named (by its name or its code)."""
        typed = (self.cleaned_data.get("theme") or "").strip()
        if not typed:
            return ""
        slug = slugify(typed, allow_unicode=True)
        if slug and any(slug == known for known, _name in self.themes):
            return slug
        raise forms.ValidationError(_("There is no theme with that name."))

    def clean_q(self) -> str:
        q = (self.cleaned_data.get("q") or "").strip()
        term = q.lstrip("#").strip()
        if term and term.isdigit() and parse_reference(term) is None:
            raise forms.ValidationError(_("There is no item with that number."))
        if term.isdigit():
            return f"#{parse_reference(term)}"
        return q

    def filters(self) -> tuple[QueueFilters, list[str]]:
        """The filters to apply, and the labels of those left out because they were not
        understood."""
        self.is_valid()
        cd = self.cleaned_data
        office = cd.get("office")
        community = cd.get("community")
        category = cd.get("category")
        result = QueueFilters(
            status=cd.get("status") or "open",
            office_id=int(office) if office else None,
            community_id=int(community) if community else None,
            category_id=int(category) if category else None,
            assignee=cd.get("assignee") or "",
            overdue=bool(cd.get("overdue")),
            tag=cd.get("theme") or "",
            q=cd.get("q") or "",
            language=cd.get("language") or "",
        )
        ignored = [str(self.fields[name].label) for name in self.errors if name in self.fields]
        return result, ignored


BULK_CHOICES = [
    ("", _("Choose an action")),
    ("assign", _("Assign to a colleague")),
    ("status", _("Set the status")),
    ("reroute", _("Route to an office")),
    ("tag", _("Add a theme")),
]


class BulkForm(ApplicationErrorMixin, forms.Form):
    """One action on the selected items. Which of the values counts depends on the action."""

    action = forms.ChoiceField(label=_("With the selected items"), choices=BULK_CHOICES, widget=PlainSelect)
    assignee = forms.ChoiceField(label=_("Colleague"), required=False, widget=PlainSelect)
    status = forms.ChoiceField(label=_("New status"), required=False, widget=PlainSelect)
    reason = forms.CharField(
        label=_("Reason (the resident reads it)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for “Not for us”."),
    )
    office = forms.ChoiceField(label=_("Office"), required=False, widget=PlainSelect, error_messages=_NOT_LISTED)
    tag = forms.CharField(
        label=_("Theme"), required=False, max_length=80, widget=forms.TextInput(attrs={"list": "themes"})
    )

    def __init__(
        self, *args: Any, people: list[User], names: staff_selectors.Names | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        names = names or staff_selectors.names()
        fields: Any = self.fields
        choices = [(str(p.pk), person_label(p)) for p in people]
        fields["assignee"].choices = [("", _("Choose a colleague")), ("none", _("Nobody (unassign)")), *choices]
        fields["status"].choices = [("", _("Choose a status")), *(c for c in Status.choices if c[0] != Status.MERGED)]
        fields["office"].choices = [("", _("Choose an office")), *names.offices.items()]

    def clean(self) -> dict[str, Any]:
        cd = super().clean() or {}
        action = cd.get("action")
        needed = {"assign": "assignee", "status": "status", "reroute": "office", "tag": "tag"}.get(action or "")
        if needed and not cd.get(needed) and needed not in self.errors:
            self.add_error(needed, _("Choose or enter a value for this action."))
        return cd

    def value(self) -> str:
        """What the bulk service takes as the action's value."""
        cd = self.cleaned_data
        action = cd["action"]
        if action == "assign":
            return "" if cd["assignee"] == "none" else cd["assignee"]
        if action == "status":
            return str(cd["status"])
        if action == "reroute":
            return str(cd["office"])
        return str(cd["tag"])


# --- an item's page -----------------------------------------------------------------------------


class StatusForm(ApplicationErrorMixin, forms.Form):
    status = forms.ChoiceField(label=_("New status"))
    reason = forms.CharField(
        label=_("Reason (the resident reads it)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required for “Not for us”: say why, and where the resident can turn instead."),
    )

    def __init__(self, *args: Any, item: Item, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = services.TRANSITIONS.get(item.status, set())
        field: Any = self.fields["status"]
        field.choices = [(value, label) for value, label in Status.choices if value in allowed]
        self.is_available = bool(field.choices)


class AssignForm(ApplicationErrorMixin, forms.Form):
    # The list shows who may handle the item; the service decides.
    assignee = forms.IntegerField(
        label=_("Assign to"), required=False, min_value=1, validators=[MaxValueValidator(MAX_ID)]
    )

    def __init__(self, *args: Any, item: Item, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = [(p.pk, person_label(p)) for p in staff_selectors.colleagues_for(item)]
        self.fields["assignee"].widget = forms.Select(choices=[("", _("Nobody (unassign)")), *people])


class RerouteForm(ApplicationErrorMixin, forms.Form):
    office = forms.ModelChoiceField(label=_("Office"), queryset=Office.objects.all(), empty_label=_("Choose an office"))
    community = forms.ModelChoiceField(
        label=_("Community"),
        queryset=Community.objects.all(),
        required=False,
        empty_label=_("Keep the current community"),
    )


class KindSelect(forms.RadioSelect):
    """Radio buttons some of which cannot be chosen for this item."""

    def __init__(self, *args: Any, disabled: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.disabled = disabled

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.disabled:
            option["attrs"]["disabled"] = True
        return option


def site_language(code: str) -> bool:
    return code in {c for c, _n in settings.LANGUAGES}


class ReplyForm(ApplicationErrorMixin, forms.Form):
    """A reply as written, and if wanted its translation into the submitter's language."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Reply.Kind.choices)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}))
    language = forms.ChoiceField(label=_("Written in"), choices=settings.LANGUAGES)
    translation = forms.CharField(
        label=_("Translation (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The same reply in the submitter's language: they read this one."),
    )
    translation_language = forms.ChoiceField(
        label=_("Translated into"), required=False, choices=[("", "—"), *settings.LANGUAGES]
    )

    def __init__(self, *args: Any, item: Item, writer_language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        disabled = set()
        notes = []
        if not item.is_public:
            disabled.add(Reply.Kind.PUBLIC.value)
            notes.append(_("A public reply is not possible: the item is not on the public pages."))
        if not item.contact_email:
            disabled.add(Reply.Kind.PRIVATE.value)
            notes.append(_("A private reply is not possible: the author left no e-mail address."))
        self.unavailable_notes = notes
        kind: Any = self.fields["kind"]
        kind.widget = KindSelect(choices=kind.choices, disabled=frozenset(disabled))
        self.fields["kind"].help_text = _(
            "An internal note is seen by staff only; a private reply goes to the author by e-mail; a public "
            "reply shows on the item's page and goes to the author and followers."
        )
        if not self.is_bound:
            self.initial.setdefault("language", writer_language)
            self.initial.setdefault("translation_language", self.target_language(item, writer_language))

    @staticmethod
    def target_language(item: Item, writer_language: str) -> str:
        """The submitter's language if the site speaks it (the one they wrote from first, then
        the language of their text), preferring one other than the writer's."""
        candidates = [code for code in (item.contact_language, item.language) if code and site_language(code)]
        for code in candidates:
            if code != writer_language:
                return code
        return candidates[0] if candidates else ""

    def clean(self) -> dict[str, Any]:
        cd = super().clean() or {}
        if cd.get("translation", "").strip():
            other = cd.get("translation_language")
            if not other:
                self.add_error("translation_language", _("Choose the language of the translation."))
            elif other == cd.get("language"):
                self.add_error("translation_language", _("The translation must be in another language."))
        return cd

    def translations(self) -> dict[str, str]:
        cd = self.cleaned_data
        texts = {cd["language"]: cd["text"]}
        if cd.get("translation", "").strip() and cd.get("translation_language"):
            texts[cd["translation_language"]] = cd["translation"]
        return texts


class MergeForm(ApplicationErrorMixin, forms.Form):
    into = forms.CharField(
        label=_("Merge into item number"),
        max_length=20,
        help_text=_("Like #1234. Supporters and followers move to that item; the author is told."),
    )

    def clean_into(self) -> int:
        number = parse_reference(self.cleaned_data.get("into", ""))
        if number is None:
            raise forms.ValidationError(_("Enter an item number, like #1234."))
        return number


class ThemeForm(ApplicationErrorMixin, forms.Form):
    tag = forms.CharField(
        label=_("Add a theme"),
        max_length=80,
        widget=forms.TextInput(attrs={"list": "themes"}),
        help_text=_("A short name for what keeps coming up, like “noise at night”."),
    )


# --- setup: routing and categories --------------------------------------------------------------


class RuleForm(ApplicationErrorMixin, forms.Form):
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("Any category")
    )
    community = forms.ModelChoiceField(
        label=_("Community"), queryset=Community.objects.all(), required=False, empty_label=_("Any community")
    )
    office = forms.ModelChoiceField(
        label=_("Goes to office"), queryset=Office.objects.all(), empty_label=_("Choose an office")
    )


class CategoryForm(TranslatedFieldsMixin):
    translated_fields = {
        "name": (_("Name"), forms.TextInput, True),
        "description": (_("Description"), forms.Textarea, False),
    }
    slug = forms.SlugField(
        label=_("Code"),
        max_length=60,
        help_text=_("Lower-case letters, digits and hyphens, like “streets”. Open311 applications use it."),
    )
    group = forms.SlugField(
        label=_("Group"), max_length=60, required=False, help_text=_("Several categories under one heading.")
    )
    keywords = forms.CharField(
        label=_("Keywords"), max_length=300, required=False, help_text=_("Words residents may search for.")
    )
    response_hours = forms.IntegerField(
        label=_("Response target (hours)"),
        min_value=1,
        max_value=24 * 365,
        initial=120,
        help_text=_("An open item older than this is overdue."),
    )
    active = forms.BooleanField(label=_("Residents may choose it"), required=False, initial=True)

    def __init__(self, *args: Any, category: Category | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.category = category
        if category is not None:
            # The code names the category: it is not changed once given.
            del self.fields["slug"]

    def clean_slug(self) -> str:
        slug = (self.cleaned_data.get("slug") or "").strip().lower()
        if slug == "new":
            raise forms.ValidationError(_("This code is reserved; choose another."))
        if Category.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("A category with this code already exists."))
        return slug
