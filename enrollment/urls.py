from django.urls import path

from enrollment import views

app_name = "enrollment"
urlpatterns = [
    path("screening/", views.screening_list, name="screening_list"),
    path("screening/new/", views.screening_create, name="screening_create"),
    path("screening/<int:pk>/", views.screening_detail, name="screening_detail"),
    path("screening/<int:pk>/edit/", views.screening_edit, name="screening_edit"),
    path("screening/<int:pk>/rescreen/", views.screening_rescreen, name="screening_rescreen"),
    path("screening/<int:pk>/consent/", views.consent_edit, name="consent_edit"),
    path("screening/<int:pk>/identity/", views.identity_edit, name="identity_edit"),
    path("screening/<int:pk>/enroll/", views.enroll, name="enroll"),
    path(
        "participants/<str:participant_id>/edit/", views.participant_edit, name="participant_edit"
    ),
    path("participants/<str:participant_id>/exit/", views.study_exit_edit, name="study_exit_edit"),
]
