from django.urls import path

from bench.floor import views

urlpatterns = [
    path("read/", views.read, name="read"),
    path("write/", views.write, name="write"),
]
