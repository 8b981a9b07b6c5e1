from django.urls import path

from dosing import views

app_name = "dosing"
urlpatterns = [
    path("dosing/today/", views.today, name="today"),
    path("dosing/<str:participant_id>/new/", views.dose_new, name="dose_new"),
    path("dosing/<str:participant_id>/day/<int:day>/", views.dose_edit, name="dose_edit"),
]
