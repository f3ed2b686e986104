from django.urls import path

from yulan.events import views

app_name = "events"

urlpatterns = [
    path("events/", views.event_list, name="list"),
    path("events/calendar.ics", views.calendar_all, name="calendar"),
    path("events/community/<slug:slug>/calendar.ics", views.calendar_community, name="community_calendar"),
    path("events/my/", views.my_events, name="mine"),
    path("events/my/<str:token>/calendar.ics", views.calendar_mine, name="my_calendar"),
    path("events/registration/<str:token>/", views.registration, name="registration"),
    path("events/confirm/<str:token>/", views.confirm, name="confirm"),
    path("events/<slug:slug>/", views.event_detail, name="detail"),
    path("events/<slug:slug>/event.ics", views.event_ics, name="ics"),
    path("events/<slug:slug>/register/", views.register, name="register"),
    path("events/<slug:slug>/register/sent/", views.register_sent, name="register_sent"),
    path("staff/events/", views.staff_events, name="staff_events"),
    path("staff/events/new/", views.staff_event_edit, name="staff_event_new"),
    path("staff/events/attendance/", views.staff_attendance, name="staff_attendance"),
    path("staff/events/checkin/<str:code>/", views.staff_checkin_code, name="staff_checkin_code"),
    path("staff/events/<int:pk>/", views.staff_event, name="staff_event"),
    path("staff/events/<int:pk>/edit/", views.staff_event_edit, name="staff_event_edit"),
    path("staff/events/<int:pk>/state/", views.staff_event_state, name="staff_event_state"),
    path("staff/events/<int:pk>/checkin/", views.staff_checkin, name="staff_checkin"),
    path("staff/events/<int:pk>/registrations.csv", views.staff_export, name="staff_export"),
    path("staff/registrations/<int:pk>/cancel/", views.staff_registration_cancel, name="staff_registration_cancel"),
]
