import json

import pytest

from yulan.guide import services
from yulan.guide.models import Organization

from .test_services import place_input


@pytest.fixture
def directory(editor, community):
    org = Organization.objects.create(slug="ffa", name={"en": "Foreign Affairs Office", "zh-hans": "外办"})
    library = services.place_create(
        actor=editor,
        data=place_input(
            community_id=community.pk,
            organization_id=org.pk,
            hours="Tue-Sun 09:00-20:00\n2026-12-25 closed",
            services=[{"en": "Reading room"}, {"en": "Foreign-language books", "zh-hans": "外文图书"}],
        ),
    )
    clinic = services.place_create(
        actor=editor, data=place_input(slug="clinic", name={"en": "Clinic"}, services=[{"en": "General practice"}])
    )
    return {"org": org, "library": library, "clinic": clinic}


def export(client, **params):
    response = client.get("/hsds/export.json", params)
    assert response.status_code == 200
    return json.loads(b"".join(response.streaming_content))


def test_the_export_has_every_hsds_table_linked_by_ids(client, directory):
    data = export(client)
    assert data["hsds_version"] == "3.0"
    assert {"organization", "service", "location", "service_at_location", "schedule", "language"} <= data.keys()
    org_ids = {o["id"] for o in data["organization"]}
    location_ids = {loc["id"] for loc in data["location"]}
    service_ids = {s["id"] for s in data["service"]}
    assert len(data["location"]) == 2
    assert len(data["service"]) == 3
    assert all(s["organization_id"] in org_ids for s in data["service"])
    assert all(
        sal["service_id"] in service_ids and sal["location_id"] in location_ids for sal in data["service_at_location"]
    )
    assert all(s["location_id"] in location_ids for s in data["schedule"])
    weekly = [s for s in data["schedule"] if s.get("freq") == "WEEKLY"]
    assert sorted({s["byday"] for s in weekly}) == ["FR", "SA", "SU", "TH", "TU", "WE"]
    assert any(s.get("valid_from") == "2026-12-25" and s["description"] == "closed" for s in data["schedule"])
    assert {lang["code"] for lang in data["language"]} == {"en", "zh", "ja"}


def test_the_export_is_given_in_the_asked_language_with_fallback(client, directory):
    data = export(client, lang="zh-hans")
    names = {s["name"] for s in data["service"]}
    assert "外文图书" in names
    assert "Reading room" in names  # no Chinese text: the original is given
    assert client.get("/hsds/export.json", {"lang": "xx"}).status_code == 400


def test_the_services_api_pages_and_searches(client, directory):
    page = client.get("/hsds/services", {"per_page": 2}).json()
    assert page["total_items"] == 3
    assert page["total_pages"] == 2
    assert page["first_page"] and not page["last_page"]
    assert len(page["contents"]) == 2
    page2 = client.get("/hsds/services", {"per_page": 2, "page": 2}).json()
    assert page2["last_page"] and len(page2["contents"]) == 1
    found = client.get("/hsds/services", {"search": "clinic"}).json()
    assert [s["name"] for s in found["contents"]] == ["General practice"]


def test_one_service_carries_its_organization_locations_and_schedules(client, directory):
    service = directory["library"].services.first()
    body = client.get(f"/hsds/services/{service.hsds_id}").json()
    assert body["organization"]["name"] == "Foreign Affairs Office"
    (sal,) = body["service_at_locations"]
    assert sal["location"]["latitude"] == pytest.approx(31.196)
    assert len(sal["location"]["schedules"]) == 7
    assert client.get("/hsds/services/not-a-uuid").status_code == 404
    assert client.get("/hsds/services/00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.parametrize("params", [{"per_page": 0}, {"per_page": 101}, {"page": 0}, {"page": "x"}])
def test_bad_paging_is_a_named_4xx(client, db, params):
    response = client.get("/hsds/services", params)
    assert response.status_code == 422
    assert response.json()["field"] in params
