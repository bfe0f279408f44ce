"""Subscription pages; included before the public pages."""

from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("incidents/<slug:code>/subscribe/", views.incident_subscribe, name="incident"),
    path("subscriptions/<str:token>/confirm/", views.confirm, name="confirm"),
    path("subscriptions/<str:token>/", views.manage, name="manage"),
    path("subscriptions/<str:token>/unsubscribe/", views.unsubscribe, name="unsubscribe"),
]
