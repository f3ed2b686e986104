import pytest
from django.core.cache import cache, caches
from django.utils import translation

from yulan.core.models import Community, District, Office, Role, User
from yulan.core.services import role_grant
from yulan.guide.models import Category
from yulan.voice import apikeys, reference


@pytest.fixture(autouse=True)
def _clean_state():
    """Rate-limit counters live in the cache, feedback reference data and API keys are kept in
    the process, and a request leaves its language active in the thread: each test starts
    clean, in English."""
    cache.clear()
    caches["pages"].clear()
    reference.forget()
    apikeys.forget()
    translation.activate("en")
    yield
    translation.deactivate()
    cache.clear()


@pytest.fixture
def district(db):
    return District.objects.create(slug="changning", name={"en": "Changning District", "zh-hans": "长宁区"})


@pytest.fixture
def community(district):
    return Community.objects.create(
        slug="hongqiao",
        name={"en": "Hongqiao Subdistrict", "zh-hans": "虹桥街道"},
        district=district,
        latitude=31.2010,
        longitude=121.4090,
    )


@pytest.fixture
def other_community(district):
    return Community.objects.create(
        slug="huacao", name={"en": "Huacao Town"}, district=district, latitude=31.224, longitude=121.305
    )


@pytest.fixture
def office(district):
    return Office.objects.create(slug="foreign-affairs", name={"en": "Foreign Affairs Office"}, district=district)


@pytest.fixture
def category(db):
    return Category.objects.create(slug="payment", name={"en": "Payment", "zh-hans": "支付"})


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("admin@example.org", "pw-admin-1234")


@pytest.fixture
def editor(admin_user):
    user = User.objects.create_user("editor@example.org", "pw-editor-1234")
    role_grant(actor=admin_user, user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def coordinator(admin_user, community):
    user = User.objects.create_user("coordinator@example.org", "pw-coord-1234")
    role_grant(actor=admin_user, user=user, role=Role.COORDINATOR, community=community)
    return user


@pytest.fixture
def responder(admin_user, office):
    user = User.objects.create_user("responder@example.org", "pw-resp-1234")
    role_grant(actor=admin_user, user=user, role=Role.RESPONDER, office=office)
    return user


@pytest.fixture
def resident(db):
    return User.objects.create_user("resident@example.org", "pw-resident-1234")


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback that the site sends to."""
    from .smtp import SMTPServer

    with SMTPServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_TIMEOUT = 5
        yield server


@pytest.fixture(scope="session")
def live_server(django_db_setup, live_server):
    """The test server, started only once the test database exists, so that it stops (and its
    threads let go of the database) before the database is dropped at the end of the session."""
    return live_server


@pytest.fixture(scope="session", autouse=True)
def _let_go_of_the_test_database(django_db_setup, django_db_blocker):
    """At the end of the session, end any other connection to the PostgreSQL test database (a
    server or worker thread that has not closed its own yet), so that dropping it does not fail."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.close()
