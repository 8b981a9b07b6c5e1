from django.urls import path

from enrollment import views

app_name = "enrollment"
urlpatterns = [
    path("deviations/", views.deviation_list, name="deviations"),
    path("deviations/<int:pk>/review/", views.deviation_review, name="deviation_review"),
    path(
        "participants/<str:participant_id>/deviations/new/",
        views.deviation_edit,
        name="deviation_new",
    ),
    path(
        "participants/<str:participant_id>/deviations/<int:pk>/",
        views.deviation_edit,
        name="deviation_edit",
    ),
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
    path(
        "participants/<str:participant_id>/medical-history/",
        views.medical_history_list,
        name="medical_history",
    ),
    path(
        "participants/<str:participant_id>/medical-history/new/",
        views.medical_history_edit,
        name="medical_history_new",
    ),
    path(
        "participants/<str:participant_id>/medical-history/<int:pk>/",
        views.medical_history_edit,
        name="medical_history_edit",
    ),
    path("participants/<str:participant_id>/exit/", views.study_exit_edit, name="study_exit_edit"),
]
