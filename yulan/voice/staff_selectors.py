"""Reads for the staff pages of the feedback loop: who may be given an item, the lists behind
the selects, and an item's full record (history with who moved it, the conversation)."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.translation import get_language

from yulan.core.i18n import localize, spoken_language_name
from yulan.core.models import Community, Office, Role, RoleGrant, User
from yulan.core.permissions import Perm, community_scope, office_scope
from yulan.voice import language, reference, selectors
from yulan.voice.models import Category, Item, Reply, RoutingRule, StatusSpan, Tag

# Roles that handle every item, whatever its community or office.
CITY_WIDE_ROLES = (Role.EDITOR, Role.ADMIN)


def _people(grants: Q) -> QuerySet[User]:
    holders = RoleGrant.objects.filter(grants).values("user_id")
    return (
        User.objects.filter(is_active=True)
        .filter(Q(pk__in=holders) | Q(is_superuser=True))
        .order_by("display_name", "email")
    )


def colleagues_for(item: Item) -> QuerySet[User]:
    """Active people who may handle this item: coordinators of its community, responders of
    its office, and those who handle everything (editors, administrators)."""
    grants = Q(role__in=CITY_WIDE_ROLES, community__isnull=True, office__isnull=True)
    if item.community_id is not None:
        grants |= Q(role=Role.COORDINATOR, community_id=item.community_id)
    if item.office_id is not None:
        grants |= Q(role=Role.RESPONDER, office_id=item.office_id)
    return _people(grants)


_COLLEAGUES_ATTR = "_yulan_voice_colleagues"


def colleagues_in_scope(user: User) -> list[User]:
    """People who handle items the user handles: the choices of the queue's assignee filter
    and of a bulk assignment (the service still checks each item). Told from the role grants
    and the routing rules, never from the items: the coordinators of the user's communities
    and the responders of its offices; for a coordinator also the responders of the offices
    the rules send its communities' feedback to, for a responder the coordinators of the
    communities whose feedback the rules send to its offices; those who handle everything; and
    the user. Read once per request (kept on the user object)."""
    cached: list[User] | None = getattr(user, _COLLEAGUES_ATTR, None)
    if cached is not None:
        return cached
    communities = community_scope(user, Perm.FEEDBACK_HANDLE)
    offices = office_scope(user, Perm.FEEDBACK_HANDLE)
    grants = Q(role__in=CITY_WIDE_ROLES)
    if communities is None or offices is None:
        grants |= Q(role__in=[Role.COORDINATOR, Role.RESPONDER])
    else:
        community_ids, office_ids = set(communities), set(offices)
        every_community = False
        for (_category_id, community_id), office_id in reference.current().rules.items():
            if communities and (community_id is None or community_id in communities):
                office_ids.add(office_id)
            if office_id in offices:
                if community_id is None:
                    every_community = True
                else:
                    community_ids.add(community_id)
        if every_community:
            grants |= Q(role=Role.COORDINATOR)
        else:
            grants |= Q(role=Role.COORDINATOR, community_id__in=sorted(community_ids))
        grants |= Q(role=Role.RESPONDER, office_id__in=sorted(office_ids))
    holders = RoleGrant.objects.filter(grants).values("user_id")
    people = list(
        User.objects.filter((Q(is_active=True) & (Q(pk__in=holders) | Q(is_superuser=True))) | Q(pk=user.pk))
        .only("id", "display_name", "email")
        .order_by("display_name", "email")
    )
    setattr(user, _COLLEAGUES_ATTR, people)
    return people


def open_count_labels(user: User) -> dict[str, Any]:
    """The open and overdue counts of the user's scope as shown: "1000+" past the cap."""
    counts = selectors.open_counts(user)
    cap = counts["cap"]
    return {
        "open": f"{cap}+" if counts["open"] > cap else str(counts["open"]),
        "overdue": f"{cap}+" if counts["overdue"] > cap else str(counts["overdue"]),
        "overdue_n": counts["overdue"],
    }


def offices() -> QuerySet[Office]:
    return Office.objects.order_by("slug")


def communities() -> QuerySet[Community]:
    return Community.objects.order_by("slug")


def categories() -> QuerySet[Category]:
    """Every category, inactive ones too (old items keep theirs)."""
    return Category.objects.order_by("position", "slug")


def themes() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def theme_names() -> list[tuple[str, str]]:
    """Every theme as (slug, name), by name."""
    return list(Tag.objects.order_by("name").values_list("slug", "name"))


@dataclass(frozen=True)
class Names:
    """The names of the small tables the queue shows, in one language, by id and in the order
    of the selects: categories (inactive ones too) by position, communities and offices by
    code."""

    categories: dict[int, str]
    communities: dict[int, str]
    offices: dict[int, str]


# This process's copy: the categories read with the reference copy they go with (a change to a
# category renews that copy), and their names in each language asked for so far.
_categories: tuple[reference.Reference, list[Category]] | None = None
_names: dict[str, Names] = {}


def names(*, fresh: bool = False) -> Names:
    """Names of categories, communities and offices in the active language, each worked out
    once per process (and again after a change to any of them, or when asked for `fresh`:
    a row made in another process moments ago may not have reached this one's copy yet)."""
    global _categories, _names
    if fresh:
        reference.forget()
    ref = reference.current()
    known = _categories
    if known is None or known[0] is not ref:
        known = (ref, list(Category.objects.order_by("position", "slug").only("id", "name")))
        _categories, _names = known, {}
    language = get_language() or settings.LANGUAGE_CODE
    found = _names.get(language)
    if found is None:
        found = Names(
            categories={c.pk: localize(c.name).text for c in known[1]},
            communities={c.pk: localize(c.name).text for c in sorted(ref.communities.values(), key=_slug)},
            offices={o.pk: localize(o.name).text for o in sorted(ref.offices.values(), key=_slug)},
        )
        _names[language] = found
    return found


def _slug(row: Community | Office) -> str:
    return row.slug


_item_languages: dict[str, list[tuple[str, str]]] = {}


def item_languages() -> list[tuple[str, str]]:
    """The languages an item can be in (the site's and those told from the text), by name
    (worked out once per process for each language of the site)."""
    reader = get_language() or settings.LANGUAGE_CODE
    found = _item_languages.get(reader)
    if found is None:
        codes = {code for code, _name in settings.LANGUAGES} | set(language.CODES)
        found = sorted(((code, spoken_language_name(code)) for code in codes), key=lambda pair: pair[1].lower())
        _item_languages[reader] = found
    return list(found)


def status_history(item: Item) -> list[StatusSpan]:
    """Each stretch in one status, oldest first, with who started it."""
    return list(StatusSpan.objects.filter(item=item).select_related("actor").order_by("started_at", "id"))


def conversation(item: Item) -> list[Reply]:
    """Notes, private and public replies, oldest first."""
    return list(Reply.objects.filter(item=item).select_related("author", "office").order_by("created_at", "id"))


def merged_here(item: Item) -> list[Item]:
    """The duplicates merged into this item (their numbers only)."""
    return list(Item.objects.filter(merged_into=item).only("id", "status", "created_at").order_by("id"))


def item_themes(item: Item) -> list[Tag]:
    return list(item.tags.order_by("name"))


def routing_rules() -> list[RoutingRule]:
    """The rules, the default first, then by category and community (any before one)."""
    rules = list(RoutingRule.objects.select_related("category", "community", "office"))

    def order(rule: RoutingRule) -> tuple[Any, ...]:
        return (
            rule.category is not None,
            rule.category.slug if rule.category else "",
            rule.community is not None,
            rule.community.slug if rule.community else "",
        )

    return sorted(rules, key=order)
