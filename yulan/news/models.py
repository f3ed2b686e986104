"""News posts, the people who subscribed to them, and the weekly bulletin."""

import datetime
import secrets
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from i18nfield.fields import I18nCharField, I18nTextField

from yulan.core.i18n import localize
from yulan.core.models import Community, User


class Topic(models.Model):
    slug = models.SlugField(unique=True)
    name = I18nCharField(_("name"), max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("news topic")
        verbose_name_plural = _("news topics")

    def __str__(self) -> str:
        return localize(self.name).text


class PostQuerySet(models.QuerySet["Post"]):
    def live(self, now: "datetime.datetime | None" = None) -> "PostQuerySet":
        """Published and past its publish time: what the public sees."""
        return self.filter(state=Post.State.PUBLISHED, publish_at__lte=now or timezone.now())


class Post(models.Model):
    class Kind(models.TextChoices):
        NEWS = "news", _("Breaking news")
        POLICY = "policy", _("Policy update")
        LEGAL = "legal", _("Legal guidance")
        ASSISTANCE = "assistance", _("Assistance programme")
        STORY = "story", _("Community story")

    class Urgency(models.TextChoices):
        NORMAL = "normal", _("Normal")
        URGENT = "urgent", _("Urgent")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("In review")
        PUBLISHED = "published", _("Published")

    slug = models.SlugField(unique=True, max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.NEWS)
    urgency = models.CharField(_("urgency"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    title = I18nCharField(_("title"), max_length=300)
    summary = I18nTextField(_("summary"), blank=True, default="")
    body = I18nTextField(_("body"))
    source_language = models.CharField(_("original language"), max_length=10, default="en")
    topics = models.ManyToManyField(Topic, related_name="posts", verbose_name=_("topics"))
    # No community: the post is for the whole city.
    communities = models.ManyToManyField(
        Community, related_name="news_posts", blank=True, verbose_name=_("communities")
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    # Visible from this time once published (a later time schedules the post).
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    # Set once the post has gone live and its follow-ups (urgent notice, page refresh) were done.
    announced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[PostQuerySet] = PostQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["-publish_at", "-id"]
        indexes = [
            models.Index(fields=["state", "publish_at"], name="news_post_live"),
            models.Index(fields=["publish_at"], condition=Q(announced_at__isnull=True), name="news_post_unannounced"),
        ]
        verbose_name = _("news post")
        verbose_name_plural = _("news posts")

    def __str__(self) -> str:
        return localize(self.title, fallback=self.source_language).text

    @property
    def is_urgent(self) -> bool:
        return self.urgency == self.Urgency.URGENT

    def is_live(self, now: "datetime.datetime | None" = None) -> bool:
        now = now or timezone.now()
        return self.state == self.State.PUBLISHED and self.publish_at is not None and self.publish_at <= now


def _new_secret() -> str:
    return secrets.token_urlsafe(18)


class Subscriber(models.Model):
    """Someone who asked for news by e-mail. No account is needed: the address is confirmed by
    a link (double opt-in), and signed links in every message manage or end the subscription."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        ACTIVE = "active", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        SUPPRESSED = "suppressed", _("Suppressed")

    class Suppression(models.TextChoices):
        BOUNCE = "bounce", _("Bounced")
        COMPLAINT = "complaint", _("Complaint")

    email = models.EmailField(_("e-mail"), max_length=254, unique=True)  # stored lower-case
    language = models.CharField(_("language"), max_length=10, default="en")
    weekly = models.BooleanField(_("weekly bulletin"), default=True)
    urgent = models.BooleanField(_("urgent notices"), default=True)
    # None chosen means all.
    topics = models.ManyToManyField(Topic, blank=True, related_name="subscribers")
    communities = models.ManyToManyField(Community, blank=True, related_name="news_subscribers")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    # Part of every signed link; a new secret retires all earlier links.
    secret = models.CharField(max_length=40, default=_new_secret)
    suppressed_reason = models.CharField(max_length=10, choices=Suppression.choices, blank=True, default="")
    suppressed_detail = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    suppressed_at = models.DateTimeField(null=True, blank=True)
    # When we last wrote to the address about its subscription (confirmation, reminder);
    # repeated sign-ups within a short time send nothing more.
    last_notice_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "id"], name="news_subscriber_status")]
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")

    def __str__(self) -> str:
        return self.email


class Bulletin(models.Model):
    """One weekly issue: compiled from a week's posts, reviewed by editors, then sent."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")

    week_start = models.DateField(_("week starting"), unique=True)
    intro = I18nTextField(_("editor's note"), blank=True, default="")
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    # Fan-out (one outbox row per subscriber): last sign of life, and when it finished.
    fanout_heartbeat_at = models.DateTimeField(null=True, blank=True)
    fanout_done_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week_start"]
        verbose_name = _("weekly bulletin")
        verbose_name_plural = _("weekly bulletins")

    def __str__(self) -> str:
        year, week, _day = self.week_start.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def stream(self) -> str:
        return f"bulletin:{self.pk}"

    @property
    def editable(self) -> bool:
        return self.state in (self.State.DRAFT, self.State.SCHEDULED)


class BulletinItem(models.Model):
    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="items")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField(default=0)
    note = I18nTextField(_("editor's note"), blank=True, default="")

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["bulletin", "post"], name="news_bulletin_post_once")]

    def __str__(self) -> str:
        return f"{self.bulletin} #{self.position}"
