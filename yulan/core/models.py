"""Who is who: districts, member communities, offices, users and their scoped roles, and the
audit log of staff writes."""

from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from i18nfield.fields import I18nCharField, I18nTextField


class District(models.Model):
    slug = models.SlugField(unique=True)
    name = I18nCharField(_("name"), max_length=200)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return str(self.name)


class Community(models.Model):
    """A member community: a sub-district or township with an international community centre."""

    class Kind(models.TextChoices):
        SUBDISTRICT = "subdistrict", _("Sub-district")
        TOWN = "town", _("Town")

    slug = models.SlugField(unique=True)
    name = I18nCharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SUBDISTRICT)
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="communities")
    estimated_foreign_population = models.PositiveIntegerField(_("estimated foreign population"), default=0)
    default_language = models.CharField(_("default language"), max_length=10, default="en")
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")

    def __str__(self) -> str:
        return str(self.name)


class Office(models.Model):
    """A bureau or office that acts on what residents raise (foreign affairs, public security …)."""

    slug = models.SlugField(unique=True)
    name = I18nCharField(_("name"), max_length=200)
    description = I18nTextField(_("description"), blank=True, default="")
    district = models.ForeignKey(District, on_delete=models.PROTECT, null=True, blank=True, related_name="offices")
    email = models.EmailField(_("e-mail"), blank=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("office")
        verbose_name_plural = _("offices")

    def __str__(self) -> str:
        return str(self.name)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. Everyone with an account is a resident; staff roles come from
    `RoleGrant` rows, each scoped where the role needs it."""

    email = models.EmailField(_("e-mail"), unique=True)
    display_name = models.CharField(_("name"), max_length=150, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=10, default="en")
    district = models.ForeignKey(District, on_delete=models.SET_NULL, null=True, blank=True)
    is_staff = models.BooleanField(default=False)  # may open the Django admin
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.email


class Role(models.TextChoices):
    AMBASSADOR = "ambassador", _("Ambassador")
    COORDINATOR = "coordinator", _("Community coordinator")
    RESPONDER = "responder", _("Office responder")
    EDITOR = "editor", _("Editor")
    ADMIN = "admin", _("Administrator")


class RoleGrant(models.Model):
    """One role held by one user. A coordinator's grant names its community, a responder's its
    office; the other roles are city-wide."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, null=True, blank=True)
    office = models.ForeignKey(Office, on_delete=models.CASCADE, null=True, blank=True)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.CheckConstraint(
                name="rolegrant_scope_matches_role",
                condition=(
                    (Q(role="coordinator") & Q(community__isnull=False) & Q(office__isnull=True))
                    | (Q(role="responder") & Q(office__isnull=False) & Q(community__isnull=True))
                    | (
                        Q(role__in=["ambassador", "editor", "admin"])
                        & Q(community__isnull=True)
                        & Q(office__isnull=True)
                    )
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=Q(community__isnull=True, office__isnull=True),
                name="rolegrant_unique_citywide",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "community"],
                condition=Q(community__isnull=False),
                name="rolegrant_unique_community",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "office"], condition=Q(office__isnull=False), name="rolegrant_unique_office"
            ),
        ]

    def __str__(self) -> str:
        scope = self.community or self.office
        return f"{self.user} · {self.get_role_display()}" + (f" · {scope}" if scope else "")


class AuditEntry(models.Model):
    """Who changed what, when, with the state before and after."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80)
    target_id = models.CharField(max_length=40)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_type}#{self.target_id}"


class OutgoingMail(models.Model):
    """The outbox: every e-mail is a row before it is a message. Workers claim due rows
    atomically, send them and record the outcome, so a crash or restart loses nothing.

    A row either holds its rendered content (`subject`, `text`, `html`) or names what to
    render at send time in `context` (a bulletin for one subscriber, say), so that fanning
    out to many recipients stores a few ids, not many copies of the same text."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent")

    kind = models.CharField(max_length=40)
    # Groups the rows of one mailing (a bulletin, an urgent notice) for progress counts.
    stream = models.CharField(max_length=60, blank=True, default="")
    # At most one row per key: "bulletin:12:subscriber:345" is queued once however often the
    # fan-out runs.
    key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    to_email = models.EmailField(max_length=254)
    language = models.CharField(max_length=10, blank=True, default="")
    subject = models.CharField(max_length=300, blank=True, default="")
    text = models.TextField(blank=True, default="")
    html = models.TextField(blank=True, default="")
    headers = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the row may next be claimed: a retry's backoff, or the end of a claim's lease.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Claims read the oldest due rows of one status (a partial index would not do:
            # SQLite cannot match its condition against a query's bound parameters).
            models.Index(fields=["status", "next_attempt_at", "id"], name="outbox_due"),
            models.Index(fields=["stream", "status"], name="outbox_stream"),
        ]
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_email} ({self.status})"
