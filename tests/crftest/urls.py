from django.urls import path

from tests.crftest import views

urlpatterns = [
    path("observations/new/", views.observation_create, name="observation_create"),
    path("observations/<int:pk>/", views.observation_edit, name="observation_edit"),
]
