from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from yulan.core.models import AuditEntry, User
from yulan.core.pagecache import public_page
from yulan.core.permissions import Perm, has_perm, require, roles_of


def staff_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in staff only; finer checks happen in the services."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        require(request.user, Perm.STAFF_AREA)
        return view(request, *args, **kwargs)

    return wrapper


def paginate(request: HttpRequest, items: Any, per_page: int = 20) -> Any:
    """The page of `items` asked for by `?page=` (the last one if past the end)."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def acting_user(request: HttpRequest) -> User:
    """The signed-in user of a staff view (`staff_view` has already turned others away)."""
    return cast(User, request.user)


@public_page
def home(request: HttpRequest) -> HttpResponse:
    from yulan.events import selectors as events
    from yulan.guide import selectors as guide
    from yulan.news import selectors as news

    context = {
        "categories": guide.categories_with_counts(),
        "latest_news": news.posts_public()[:5],
        "coming_events": events.events_public().filter(status="published")[:5],
    }
    return render(request, "core/home.html", context)


def _feedback_counts(request: HttpRequest) -> dict[str, Any]:
    from yulan.voice.staff_selectors import open_count_labels

    return open_count_labels(acting_user(request))


@staff_view
def staff_home(request: HttpRequest) -> HttpResponse:
    from yulan.guide import selectors as guide

    can_handle_feedback = has_perm(request.user, Perm.FEEDBACK_HANDLE)
    context = {
        "roles": roles_of(request.user),
        "can_write_guide": has_perm(request.user, Perm.GUIDE_WRITE),
        "can_write_news": has_perm(request.user, Perm.NEWS_WRITE),
        "can_send_bulletin": has_perm(request.user, Perm.BULLETIN_SEND),
        "can_manage_subscribers": has_perm(request.user, Perm.SUBSCRIBERS_MANAGE),
        "can_run_events": has_perm(request.user, Perm.EVENTS_WRITE),
        "can_handle_feedback": can_handle_feedback,
        "can_setup_feedback": has_perm(request.user, Perm.FEEDBACK_SETUP),
        "can_report_feedback": has_perm(request.user, Perm.FEEDBACK_REPORTS),
        "can_write_surveys": has_perm(request.user, Perm.SURVEYS_WRITE),
        "feedback_counts": _feedback_counts(request) if can_handle_feedback else None,
        "articles_due": guide.articles_due_count() if has_perm(request.user, Perm.GUIDE_WRITE) else None,
        "recent": AuditEntry.objects.select_related("actor")[:20] if has_perm(request.user, Perm.AUDIT_VIEW) else None,
    }
    return render(request, "core/staff_home.html", context)
