"""Reads of the feedback loop: public lists and pages, and the staff triage queue."""

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from yulan.core.models import User
from yulan.core.permissions import handling_filter
from yulan.voice.models import Category, Item, Reply, StatusSpan

# Columns a list needs: the text is cut to a summary, contact details are never read.
LIST_FIELDS = (
    "id",
    "kind",
    "category_id",
    "community_id",
    "office_id",
    "assignee_id",
    "text",
    "language",
    "latitude",
    "longitude",
    "address",
    "status",
    "public_consent",
    "hidden",
    "created_at",
    "updated_at",
    "due_at",
    "first_response_at",
    "supporters_count",
    "followers_count",
    "merged_into_id",
    "photo",
    "source",
)


def categories_active() -> QuerySet[Category]:
    return Category.objects.filter(active=True)


def items_public(
    *, community_id: int | None = None, category_id: int | None = None, status: str = ""
) -> QuerySet[Item]:
    """Public items, newest first; merged ones are left out (their item goes on)."""
    qs = Item.objects.public().exclude(status=Item.Status.MERGED)
    if community_id:
        qs = qs.filter(community_id=community_id)
    if category_id:
        qs = qs.filter(category_id=category_id)
    if status == "open":
        qs = qs.filter(status__in=Item.OPEN)
    elif status == "closed":
        qs = qs.exclude(status__in=Item.OPEN)
    return qs.only(*LIST_FIELDS).select_related("category", "community").order_by("-created_at", "-id")


def item_public(pk: int) -> Item | None:
    """One public item with its public replies and history; never its contact details."""
    return (
        Item.objects.public()
        .filter(pk=pk)
        .only(*LIST_FIELDS, "status_reason", "closed_at", "category__slug", "category__name")
        .select_related("category", "community", "office")
        .prefetch_related(
            Prefetch("replies", queryset=Reply.objects.filter(kind=Reply.Kind.PUBLIC), to_attr="public_replies"),
            Prefetch("spans", queryset=StatusSpan.objects.only("item_id", "status", "started_at"), to_attr="history"),
        )
        .first()
    )


def replies_for_submitter(item: Item) -> list[Reply]:
    """What the submitter sees on their tracking page: public and private replies."""
    return list(item.replies.exclude(kind=Reply.Kind.NOTE))


def history(item: Item) -> list[StatusSpan]:
    return list(item.spans.only("item_id", "status", "started_at", "ended_at"))


# --- the triage queue ---------------------------------------------------------------------------


@dataclass
class QueueFilters:
    status: str = "open"  # "open", "all" or one status
    office_id: int | None = None
    community_id: int | None = None
    category_id: int | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    overdue: bool = False
    tag: str = ""
    q: str = ""
    language: str = ""


@dataclass
class QueuePage:
    items: list[Item]
    # The cursor of the next page ("" when this is the last one).
    next_cursor: str = ""
    filters: QueueFilters = field(default_factory=QueueFilters)


def handled_by(user: User) -> QuerySet[Item]:
    """The items the user may handle: their community's, their office's, or all."""
    scope = handling_filter(user)
    qs = Item.objects.all()
    return qs if scope is None else qs.filter(scope)


def _cursor(item: Item) -> str:
    return f"{item.created_at.timestamp():.6f}_{item.pk}"


def _read_cursor(cursor: str) -> tuple[datetime.datetime, int] | None:
    try:
        stamp, pk = cursor.split("_", 1)
        return datetime.datetime.fromtimestamp(float(stamp), tz=datetime.UTC), int(pk)
    except (ValueError, OverflowError, OSError):
        return None


# Columns of the queue page's rows: the page names categories, places and people from small
# tables of its own rather than joining them to every row.
QUEUE_ROW_FIELDS = (
    "id",
    "category_id",
    "community_id",
    "office_id",
    "assignee_id",
    "text",
    "language",
    "status",
    "created_at",
    "due_at",
    "supporters_count",
)


def queue(
    user: User, filters: QueueFilters, *, cursor: str = "", per_page: int = 50, related: bool = True
) -> QueuePage:
    """A page of the triage queue, newest first. Pages follow a cursor (the last item's time and
    id) rather than an offset, so the first page and the thousandth cost the same, and nothing
    counts the whole queue. With `related` the rows come with their category, community,
    office and assignee; without, only the columns of `QUEUE_ROW_FIELDS`."""
    qs = handled_by(user)
    if filters.status == "open":
        qs = qs.filter(status__in=Item.OPEN)
    elif filters.status in Item.Status.values:
        qs = qs.filter(status=filters.status)
    if filters.office_id:
        qs = qs.filter(office_id=filters.office_id)
    if filters.community_id:
        qs = qs.filter(community_id=filters.community_id)
    if filters.category_id:
        qs = qs.filter(category_id=filters.category_id)
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isascii() and filters.assignee.isdigit():
        # A number past any id (it would overflow the database's integer) is nobody.
        qs = qs.filter(assignee_id=int(filters.assignee)) if len(filters.assignee) < 19 else qs.none()
    if filters.overdue:
        qs = qs.filter(status__in=Item.OPEN, due_at__lt=timezone.now())
    if filters.tag:
        qs = qs.filter(tags__slug=filters.tag)
    if filters.language:
        qs = qs.filter(language=filters.language)
    if filters.q:
        term = filters.q.strip().lstrip("#")
        qs = (
            qs.filter(pk=int(term))
            if term.isascii() and term.isdigit() and len(term) < 12
            else qs.filter(text__icontains=filters.q.strip())
        )
    if cursor and (position := _read_cursor(cursor)) is not None:
        at, pk = position
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
    if related:
        qs = qs.only(*LIST_FIELDS).select_related("category", "community", "office", "assignee")
    else:
        qs = qs.only(*QUEUE_ROW_FIELDS)
    rows = list(qs.order_by("-created_at", "-id")[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    return QueuePage(rows, _cursor(rows[-1]) if more and rows else "", filters)


def open_counts(user: User) -> dict[str, Any]:
    """How many open items the user's scope holds, and how many are overdue (capped, so that a
    large backlog costs no more than a small one to count)."""
    # No ordering: the capped subquery then stops at the cap in an index scan instead of sorting
    # every open item of the scope by age first.
    qs = handled_by(user).filter(status__in=Item.OPEN).order_by()
    cap = 1000
    open_n = qs.values("pk")[: cap + 1].count()
    overdue_n = qs.filter(due_at__lt=timezone.now()).values("pk")[: cap + 1].count()
    return {"open": open_n, "overdue": overdue_n, "cap": cap}


def items_of_user(user: User) -> QuerySet[Item]:
    return (
        Item.objects.filter(user=user, anonymised_at__isnull=True)
        .only(*LIST_FIELDS, "secret")
        .select_related("category")
        .order_by("-created_at", "-id")
    )


def time_in_status(item: Item) -> dict[str, datetime.timedelta]:
    """How long the item has spent in each status so far."""
    now = timezone.now()
    totals: dict[str, datetime.timedelta] = {}
    for span in item.spans.all():
        totals[span.status] = totals.get(span.status, datetime.timedelta()) + ((span.ended_at or now) - span.started_at)
    return totals
