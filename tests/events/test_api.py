import datetime
import json

import pytest
from django.utils import timezone

from yulan.core.models import Community, District
from yulan.events.models import Event

pytestmark = pytest.mark.django_db


def _event(slug: str, *, days: int, community: Community | None = None, **extra: object) -> Event:
    start = timezone.now() + datetime.timedelta(days=days)
    values: dict[str, object] = {
        "slug": slug,
        "title": {"en": f"Event {slug}", "fr": f"Événement {slug}"},
        "description": {"en": "<p>About it</p>"},
        "online_url": "https://meet.example.org/x",
        "starts_at": start,
        "ends_at": start + datetime.timedelta(hours=2),
        "status": Event.Status.PUBLISHED,
        "community": community,
        "languages": ",en,ja,",
    }
    values.update(extra)
    return Event.objects.create(**values)


@pytest.fixture
def community() -> Community:
    district = District.objects.create(slug="changning", name={"en": "Changning"})
    return Community.objects.create(slug="hongqiao", name={"en": "Hongqiao"}, district=district)


def test_it_lists_coming_public_events_soonest_first(client, community):
    _event("later", days=9)
    _event("sooner", days=2, community=community, capacity=10, places_taken=4)
    _event("draft", days=1, status=Event.Status.DRAFT)
    _event("over", days=-3)
    body = client.get("/api/v1/events?lang=fr").json()
    assert [e["slug"] for e in body] == ["sooner", "later"]
    assert body[0]["title"] == "Événement sooner"
    assert body[0]["community"] == "hongqiao"
    assert body[0]["places_left"] == 6
    assert body[0]["url"] == "/fr/events/sooner/"


def test_it_filters_by_community_language_and_free_places(client, community):
    _event("full", days=2, community=community, capacity=5, places_taken=5)
    _event("open", days=3, community=community, capacity=5, places_taken=1, languages=",zh-hans,")
    _event("elsewhere", days=4)
    assert [e["slug"] for e in client.get("/api/v1/events?community=hongqiao&free=true").json()] == ["open"]
    assert [e["slug"] for e in client.get("/api/v1/events?language=ja").json()] == ["full", "elsewhere"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lang=xx", "lang"),
        ("community=nowhere", "community"),
        ("kind=party", "kind"),
        ("from=2027-02-01&to=2027-01-01", "to"),
    ],
)
def test_it_refuses_bad_filters_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/events?{query}")
    assert response.status_code == 400
    assert json.loads(response.content)["field"] == field


def test_an_event_shows_its_description_and_a_missing_one_is_404(client):
    _event("fair", days=3)
    body = client.get("/api/v1/events/fair").json()
    assert body["description_html"] == "<p>About it</p>"
    assert body["calendar_url"] == "/en/events/fair/event.ics"
    assert client.get("/api/v1/events/nothing").status_code == 404
