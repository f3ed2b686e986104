"""The feedback loop: what residents raise, where it is routed, how it is answered, who supports
and follows it; the questionnaires of research feedback loops; and the reports shared upward and
across member communities."""

import secrets
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from i18nfield.fields import I18nCharField, I18nTextField

from yulan.core.i18n import localize
from yulan.core.models import Community, Office, User


def new_secret() -> str:
    return secrets.token_urlsafe(16)


class Category(models.Model):
    """A kind of feedback (an Open311 "service"): its slug is the service code."""

    slug = models.SlugField(_("code"), unique=True, max_length=60)
    name = I18nCharField(_("name"), max_length=200)
    description = I18nTextField(_("description"), blank=True, default="")
    # Open311's "group": several categories under one heading (e.g. "streets").
    group = models.SlugField(_("group"), max_length=60, blank=True)
    keywords = models.CharField(_("keywords"), max_length=300, blank=True)
    # The response-time target: an open item older than this without an answer is overdue.
    response_hours = models.PositiveIntegerField(_("response target (hours)"), default=120)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("feedback category")
        verbose_name_plural = _("feedback categories")

    def __str__(self) -> str:
        return localize(self.name).text


class RoutingRule(models.Model):
    """Category × community → the office that acts. A rule may leave either side open; the most
    specific rule wins, and the rule with both open is the default."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True, related_name="rules")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "community"],
                condition=Q(category__isnull=False, community__isnull=False),
                name="routing_both",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(category__isnull=False, community__isnull=True),
                name="routing_category",
            ),
            models.UniqueConstraint(
                fields=["community"],
                condition=Q(category__isnull=True, community__isnull=False),
                name="routing_community",
            ),
            models.UniqueConstraint(
                fields=["office"], condition=Q(category__isnull=True, community__isnull=True), name="routing_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} × {self.community or '*'} → {self.office}"


class Tag(models.Model):
    """A theme staff give items while triaging ("noise at night", "bus signs"); reports count the
    recurring ones."""

    slug = models.SlugField(unique=True, max_length=80)
    name = models.CharField(_("theme"), max_length=80)

    class Meta:
        ordering = ["name"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self) -> str:
        return self.name


class ApiClient(models.Model):
    """An application that may post to the Open311 API. Only a digest of its key is kept."""

    name = models.CharField(_("name"), max_length=150)
    key_digest = models.CharField(max_length=64, unique=True)
    # The key's first characters, to tell keys apart in lists.
    key_prefix = models.CharField(max_length=8)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"


class ItemQuerySet(models.QuerySet["Item"]):
    def public(self) -> "ItemQuerySet":
        """What anyone may read: items whose author agreed to public display and that staff have
        not hidden."""
        return self.filter(public_consent=True, hidden=False)

    def open(self) -> "ItemQuerySet":
        return self.filter(status__in=Item.OPEN)


class Item(models.Model):
    """One suggestion, problem or idea. Its id is the reference number ("#1234")."""

    class Kind(models.TextChoices):
        SUGGESTION = "suggestion", _("Suggestion")
        PROBLEM = "problem", _("Problem")
        IDEA = "idea", _("Idea")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")
        MERGED = "merged", _("Merged")
        DECLINED = "declined", _("Not for us")

    class Source(models.TextChoices):
        WEB = "web", _("Website")
        OPEN311 = "open311", _("Open311 application")
        ROUNDTABLE = "roundtable", _("Roundtable")

    OPEN: ClassVar[list[str]] = [Status.RECEIVED, Status.ASSIGNED, Status.IN_PROGRESS]

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PROBLEM)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="items", verbose_name=_("category"))
    # None: the submitter did not say and the location did not tell.
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("community")
    )
    office = models.ForeignKey(
        Office, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("office")
    )
    assignee = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("assigned to")
    )
    text = models.TextField(_("what would you like to tell us?"))
    # Detected from the text (the page's language when the text is too short to tell).
    language = models.CharField(_("language"), max_length=10, default="en")
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    address = models.CharField(_("address or place"), max_length=300, blank=True)
    # The stored photo (re-encoded, without its metadata), or an Open311 client's link to one.
    photo = models.CharField(max_length=200, blank=True)
    media_url = models.URLField(max_length=500, blank=True)
    # The submitter. Personal data: shown only to staff who handle the item.
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback")
    contact_name = models.CharField(_("name"), max_length=150, blank=True)
    contact_email = models.EmailField(_("e-mail"), blank=True)
    contact_phone = models.CharField(_("phone"), max_length=50, blank=True)
    # The site language the submitter wrote from: notices to them are written in it.
    contact_language = models.CharField(max_length=10, default="en")
    public_consent = models.BooleanField(_("may be shown publicly"), default=False)
    # Staff may take a public item off the public pages (abuse, personal details in the text).
    hidden = models.BooleanField(default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED)
    status_reason = models.TextField(_("reason"), blank=True)
    merged_into = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.WEB)
    event = models.ForeignKey(
        "events.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("event")
    )
    api_client = models.ForeignKey(ApiClient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tags = models.ManyToManyField(Tag, blank=True, related_name="items")
    # Recognises the same submission sent twice (same words, category, place and sender).
    fingerprint = models.CharField(max_length=64, db_index=True)
    secret = models.CharField(max_length=32, default=new_secret)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # The response-time target: open past this moment means overdue.
    due_at = models.DateTimeField()
    first_response_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    supporters_count = models.PositiveIntegerField(default=0)
    followers_count = models.PositiveIntegerField(default=0)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[ItemQuerySet] = ItemQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Triage queues: an office's or a community's items by status, newest first.
            models.Index(fields=["office", "status", "created_at"], name="item_office_queue"),
            models.Index(fields=["community", "status", "created_at"], name="item_community_queue"),
            models.Index(fields=["status", "due_at"], name="item_overdue"),
            # Reports and Open311 lists read a period.
            models.Index(fields=["created_at", "id"], name="item_created"),
            models.Index(fields=["public_consent", "hidden", "created_at"], name="item_public"),
        ]
        constraints = [
            models.CheckConstraint(
                name="item_location_pair",
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
            ),
            models.CheckConstraint(
                name="item_merged_has_target", condition=~Q(status="merged") | Q(merged_into__isnull=False)
            ),
        ]
        verbose_name = _("feedback item")
        verbose_name_plural = _("feedback items")

    def __str__(self) -> str:
        return f"#{self.pk} {self.text[:60]}"

    @property
    def reference(self) -> str:
        return f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_public(self) -> bool:
        return self.public_consent and not self.hidden

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_email or self.contact_phone or self.user_id)


class StatusSpan(models.Model):
    """One stretch of time an item spent in one status: the history, and time in each status."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="spans")
    status = models.CharField(max_length=12, choices=Item.Status.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["item", "started_at"], name="span_item")]

    def __str__(self) -> str:
        return f"#{self.item_id} {self.status}"


class Reply(models.Model):
    """What staff write on an item: an internal note (staff only), a private reply (to the
    submitter only) or a public reply (on the item's page, to the submitter and followers)."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Internal note")
        PRIVATE = "private", _("Private reply")
        PUBLIC = "public", _("Public reply")

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="replies")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PUBLIC)
    # {language: text}: the reply as written, and its translation into the submitter's language.
    text = I18nTextField(_("reply"))
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    office = models.ForeignKey(Office, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("reply")
        verbose_name_plural = _("replies")

    def __str__(self) -> str:
        return f"#{self.item_id} {self.kind}"


class Support(models.Model):
    """A resident's "me too": one per account and item."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "user"], name="support_once")]

    def __str__(self) -> str:
        return f"#{self.item_id} ← {self.user_id}"


class Follower(models.Model):
    """An address that hears about an item's status and public replies. An address given
    without an account follows once it has confirmed the e-mailed link."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="followers")
    email = models.EmailField(_("e-mail"))
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    language = models.CharField(max_length=10, default="en")
    confirmed = models.BooleanField(default=False)
    secret = models.CharField(max_length=32, default=new_secret)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "email"], name="follower_once")]

    def __str__(self) -> str:
        return f"#{self.item_id} → {self.email}"


class Survey(models.Model):
    """A questionnaire of a research feedback loop, open to all or to one community."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    slug = models.SlugField(unique=True, max_length=120)
    title = I18nCharField(_("title"), max_length=300)
    intro = I18nTextField(_("introduction"), blank=True, default="")
    # None: open to everyone in the city; otherwise to residents of that community.
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("community")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField(_("opens"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    responses_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")

    def __str__(self) -> str:
        return localize(self.title).text


class SurveyQuestion(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("One choice")
        MULTIPLE = "multiple", _("Several choices")
        SCALE = "scale", _("Scale")
        TEXT = "text", _("Free text")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(_("kind of answer"), max_length=10, choices=Kind.choices, default=Kind.SINGLE)
    label = I18nCharField(_("question"), max_length=300)
    # For choices: one choice a line, per language; answers store the choice's line number.
    choices = I18nTextField(_("choices"), blank=True, default="")
    scale_min = models.SmallIntegerField(default=1)
    scale_max = models.SmallIntegerField(default=5)
    required = models.BooleanField(_("required"), default=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")

    def __str__(self) -> str:
        return localize(self.label).text

    def choice_list(self, language: str | None = None) -> list[str]:
        text = localize(self.choices, language).text
        return [line.strip() for line in text.splitlines() if line.strip()]


class SurveyResponse(models.Model):
    """One person's answers: by account, or by an e-mail address confirmed through a link."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    email = models.EmailField(blank=True)
    language = models.CharField(max_length=10, default="en")
    # {question id: answer}: a choice's line number, a list of them, a scale value or text.
    answers = models.JSONField(default=dict)
    confirmed = models.BooleanField(default=False)
    secret = models.CharField(max_length=32, default=new_secret)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "user"], condition=Q(user__isnull=False), name="survey_once_user"
            ),
            models.UniqueConstraint(fields=["survey", "email"], condition=~Q(email=""), name="survey_once_email"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.pk}"


class Report(models.Model):
    """A feedback report frozen at the moment it was made, kept private, or shared with the city
    level, or shared with the city and every member community."""

    class Sharing(models.TextChoices):
        PRIVATE = "private", _("Only its author's community or office")
        CITY = "city", _("Shared with the city")
        ALL = "all", _("Shared with the city and all member communities")

    title = models.CharField(_("title"), max_length=200)
    # The scope it covers: one community, or (None) the whole city.
    community = models.ForeignKey(
        Community, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("community")
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    # The filters it was made with (category, office) and the figures as computed.
    filters = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict)
    sharing = models.CharField(_("shared with"), max_length=10, choices=Sharing.choices, default=Sharing.PRIVATE)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("feedback report")
        verbose_name_plural = _("feedback reports")

    def __str__(self) -> str:
        return self.title
