from django.urls import path

from webapp.page import views

urlpatterns = [
    path("", views.index, name="page-index"),
]
