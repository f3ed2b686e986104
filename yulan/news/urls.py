from django.urls import path

from yulan.news import views
from yulan.news.feeds import AtomNewsFeed, NewsFeed

app_name = "news"

urlpatterns = [
    path("news/", views.news_list, name="list"),
    path("news/feed.rss", NewsFeed(), name="feed_rss"),
    path("news/feed.atom", AtomNewsFeed(), name="feed_atom"),
    path("news/<str:scope>/<slug:slug>/feed.rss", NewsFeed(), name="scoped_feed_rss"),
    path("news/<str:scope>/<slug:slug>/feed.atom", AtomNewsFeed(), name="scoped_feed_atom"),
    path("news/subscribe/", views.subscribe, name="subscribe"),
    path("news/subscribe/sent/", views.subscribe_sent, name="subscribe_sent"),
    path("news/subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("news/subscription/<str:token>/", views.manage, name="manage"),
    path("news/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("news/<slug:slug>/", views.post_detail, name="post"),
    path("staff/news/", views.staff_posts, name="staff_posts"),
    path("staff/news/new/", views.staff_post_edit, name="staff_post_new"),
    path("staff/news/<int:pk>/", views.staff_post_edit, name="staff_post_edit"),
    path("staff/news/<int:pk>/state/", views.staff_post_state, name="staff_post_state"),
    path("staff/bulletins/", views.staff_bulletins, name="staff_bulletins"),
    path("staff/bulletins/<int:pk>/", views.staff_bulletin, name="staff_bulletin"),
    path("staff/subscribers/", views.staff_subscribers, name="staff_subscribers"),
]
