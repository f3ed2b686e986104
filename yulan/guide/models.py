"""The handbook (categories and articles) and the directory of places, shaped after Open
Referral HSDS: organization → service ↔ location, with schedules and languages."""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from i18nfield.fields import I18nCharField, I18nTextField

from yulan.core.i18n import localize
from yulan.core.models import Community, User


class Category(models.Model):
    slug = models.SlugField(unique=True)
    name = I18nCharField(_("name"), max_length=200)
    description = I18nTextField(_("description"), blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("guide category")
        verbose_name_plural = _("guide categories")

    def __str__(self) -> str:
        return localize(self.name).text


class Article(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")

    slug = models.SlugField(unique=True, max_length=120)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="articles")
    community = models.ForeignKey(Community, on_delete=models.SET_NULL, null=True, blank=True)
    title = I18nCharField(_("title"), max_length=300)
    summary = I18nTextField(_("summary"), blank=True, default="")
    body = I18nTextField(_("body"))
    source_language = models.CharField(_("original language"), max_length=10, default="en")
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    last_reviewed_at = models.DateTimeField(_("last reviewed"), null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["category__position", "slug"]
        indexes = [models.Index(fields=["state", "category"]), models.Index(fields=["last_reviewed_at"])]
        verbose_name = _("guide article")
        verbose_name_plural = _("guide articles")

    def __str__(self) -> str:
        return localize(self.title, fallback=self.source_language).text

    def review_due(self, now: datetime.datetime | None = None) -> bool:
        """Published pages not reviewed within the set age are due for review."""
        now = now or timezone.now()
        limit = datetime.timedelta(days=settings.YULAN_GUIDE_STALE_DAYS)
        reviewed = self.last_reviewed_at or self.published_at
        return self.state == self.State.PUBLISHED and (reviewed is None or now - reviewed > limit)


class Organization(models.Model):
    """Who runs a place (HSDS organization)."""

    slug = models.SlugField(unique=True, max_length=120)
    name = I18nCharField(_("name"), max_length=300)
    description = I18nTextField(_("description"), blank=True, default="")
    website = models.URLField(_("website"), blank=True)
    email = models.EmailField(_("e-mail"), blank=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return localize(self.name).text


class Place(models.Model):
    """A place in the directory (HSDS location)."""

    class Kind(models.TextChoices):
        EXPERIENCE_BASE = "experience_base", _("International experience base")
        COMMUNITY_CENTRE = "community_centre", _("Community centre")
        HOSPITAL = "hospital", _("Hospital with international department")
        SERVICE_HALL = "service_hall", _("Service hall")
        LIBRARY = "library", _("Library")
        OTHER = "other", _("Other")

    slug = models.SlugField(unique=True, max_length=120)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    name = I18nCharField(_("name"), max_length=300)
    description = I18nTextField(_("description"), blank=True, default="")
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="places"
    )
    community = models.ForeignKey(Community, on_delete=models.SET_NULL, null=True, blank=True, related_name="places")
    address = I18nCharField(_("address"), max_length=500)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    accessibility = I18nTextField(_("accessibility"), blank=True, default="")
    wheelchair_accessible = models.BooleanField(_("wheelchair accessible"), default=False)
    source_language = models.CharField(_("original language"), max_length=10, default="en")
    is_published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]
        indexes = [models.Index(fields=["latitude", "longitude"]), models.Index(fields=["kind"])]
        verbose_name = _("place")
        verbose_name_plural = _("places")

    def __str__(self) -> str:
        return localize(self.name).text


class PlaceLanguage(models.Model):
    """A language spoken at a place (HSDS language), as an ISO 639-1 or BCP 47 code."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="languages")
    code = models.CharField(max_length=10, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["place", "code"], name="placelanguage_unique")]

    def __str__(self) -> str:
        return self.code


class PlaceService(models.Model):
    """A service offered at a place (HSDS service, linked by service_at_location)."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="services")
    hsds_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = I18nCharField(_("name"), max_length=300)
    description = I18nTextField(_("description"), blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return localize(self.name).text


class OpeningHours(models.Model):
    """One weekly opening interval. weekday: 0 = Monday … 6 = Sunday, in the city's time zone."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField()
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [models.CheckConstraint(name="openinghours_weekday", condition=models.Q(weekday__lte=6))]

    def __str__(self) -> str:
        return f"{self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


class ScheduleException(models.Model):
    """A day that differs from the weekly hours: closed, or open at other times."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    closed = models.BooleanField(default=True)
    opens = models.TimeField(null=True, blank=True)
    closes = models.TimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date", "opens"]

    def __str__(self) -> str:
        return f"{self.date} {'closed' if self.closed else f'{self.opens}-{self.closes}'}"


class SearchDocument(models.Model):
    """One searchable text per published object and language. On SQLite an FTS5 trigram index
    follows this table through triggers; on PostgreSQL a pg_trgm GIN index covers `haystack`."""

    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    language = models.CharField(max_length=10)
    title = models.CharField(max_length=300)
    body = models.TextField()
    haystack = models.TextField()
    grams = models.TextField(default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "object_id", "language"], name="searchdocument_unique")]

    def __str__(self) -> str:
        return f"{self.kind}#{self.object_id} [{self.language}]"
