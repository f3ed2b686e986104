import io

import pytest
from PIL import Image

from yulan.core.models import Office, Role, User
from yulan.core.services import role_grant
from yulan.voice import services
from yulan.voice.models import Category, RoutingRule


@pytest.fixture
def streets(db):
    return Category.objects.create(
        slug="streets",
        name={"en": "Streets and lighting", "zh-hans": "道路与照明"},
        description={"en": "Broken streetlights, pavements, signs."},
        group="city",
        keywords="streetlight, pavement, sign",
        response_hours=72,
    )


@pytest.fixture
def services_category(db):
    return Category.objects.create(
        slug="services", name={"en": "Public services"}, group="services", response_hours=120
    )


@pytest.fixture
def city_office(district):
    return Office.objects.create(slug="city-services", name={"en": "City Services Office"}, district=district)


@pytest.fixture
def routing(streets, services_category, community, office, city_office):
    """Streets in the community go to the foreign-affairs office (`office`); everything else
    goes to the city services office by default."""
    RoutingRule.objects.create(category=streets, community=community, office=office)
    RoutingRule.objects.create(category=None, community=None, office=city_office)
    return {"streets": streets, "services": services_category}


@pytest.fixture
def other_responder(admin_user, city_office):
    user = User.objects.create_user("responder-city@example.org", "pw-resp-city-1234")
    role_grant(actor=admin_user, user=user, role=Role.RESPONDER, office=city_office)
    return user


@pytest.fixture
def resident(db):
    return User.objects.create_user("resident@example.org", "pw-resident-1234", display_name="Ana")


def submit(**overrides) -> services.SubmitResult:
    data = {
        "category": "streets",
        "community": "hongqiao",
        "text": "The streetlight outside building 5 on Hongqiao Road has been broken for two weeks.",
        "contact_email": "ana@example.org",
        "contact_name": "Ana",
        "public_consent": True,
        "language": "en",
    }
    user = overrides.pop("user", None)
    data.update(overrides)
    return services.item_submit(services.ItemInput(**data), user=user)


def jpeg_bytes(size=(64, 48), exif_gps=True) -> bytes:
    image = Image.new("RGB", size, (200, 80, 40))
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_gps:
        exif[0x010F] = "PhoneMaker"  # Make
        exif[0x8825] = {1: "N", 2: (31.0, 12.0, 3.0)}  # GPS info
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def huacao_coordinator(admin_user, other_community):
    """The coordinator of the other community (`coordinator` runs Hongqiao)."""
    user = User.objects.create_user("coordinator-huacao@example.org", "pw-coord-huacao-1234")
    role_grant(actor=admin_user, user=user, role=Role.COORDINATOR, community=other_community)
    return user


@pytest.fixture
def open311_client(db):
    """An Open311 client application and its key: (ApiClient, raw key)."""
    from yulan.voice import apikeys

    return apikeys.create("City app")
