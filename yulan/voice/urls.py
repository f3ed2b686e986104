from django.urls import URLPattern

from yulan.voice import views_public, views_reports, views_staff, views_surveys

app_name = "voice"

urlpatterns: list[URLPattern] = [
    *views_public.urlpatterns,
    *views_staff.urlpatterns,
    *views_surveys.urlpatterns,
    *views_reports.urlpatterns,
]
