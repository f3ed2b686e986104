from django.urls import path

from yulan.guide import views

app_name = "guide"

urlpatterns = [
    path("guide/", views.guide_index, name="index"),
    path("guide/<slug:slug>/", views.category_detail, name="category"),
    path("guide/article/<slug:slug>/", views.article_detail, name="article"),
    path("places/", views.place_list, name="places"),
    path("places/near/", views.places_near, name="near"),
    path("places/<slug:slug>/", views.place_detail, name="place"),
    path("search/", views.search, name="search"),
    path("staff/articles/", views.staff_articles, name="staff_articles"),
    path("staff/articles/new/", views.staff_article_edit, name="staff_article_new"),
    path("staff/articles/<int:pk>/", views.staff_article_edit, name="staff_article_edit"),
    path("staff/articles/<int:pk>/state/", views.staff_article_state, name="staff_article_state"),
    path("staff/places/", views.staff_places, name="staff_places"),
    path("staff/places/new/", views.staff_place_edit, name="staff_place_new"),
    path("staff/places/<int:pk>/", views.staff_place_edit, name="staff_place_edit"),
]
