from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from yulan.api import api
from yulan.core import views as core_views
from yulan.events import views as event_views
from yulan.guide.hsds import hsds_api

admin.site.site_header = "Yulan"

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("hsds/", hsds_api.urls),
    # Open311 GeoReport v2, for existing 311 applications (no language prefix: clients build
    # these addresses themselves).
    path("open311/", include("yulan.voice.open311_urls")),
    # What a ticket's QR code holds: short, and without a language (the scanner's is used).
    path("checkin/<str:code>", event_views.checkin_link, name="checkin_link"),
]

urlpatterns += i18n_patterns(
    path("", core_views.home, name="home"),
    path("staff/", core_views.staff_home, name="staff_home"),
    path("accounts/", include("allauth.urls")),
    path("", include("yulan.guide.urls")),
    path("", include("yulan.news.urls")),
    path("", include("yulan.events.urls")),
    path("", include("yulan.voice.urls")),
    prefix_default_language=True,
)

handler400 = "yulan.core.errorviews.bad_request"
handler404 = "yulan.core.errorviews.not_found"
handler500 = "yulan.core.errorviews.server_error"
