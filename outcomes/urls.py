from django.urls import path

from outcomes import views

app_name = "outcomes"
urlpatterns = [
    path("participants/<str:participant_id>/visits/new/", views.visit_new, name="visit_new"),
    path("participants/<str:participant_id>/visits/<int:pk>/", views.visit_detail, name="visit"),
    path(
        "participants/<str:participant_id>/visits/<int:pk>/edit/",
        views.visit_edit,
        name="visit_edit",
    ),
    path(
        "participants/<str:participant_id>/visits/<int:pk>/labs/",
        views.visit_labs,
        name="visit_labs",
    ),
    path(
        "participants/<str:participant_id>/visits/<int:pk>/<str:form_code>/",
        views.visit_crf,
        name="visit_crf",
    ),
    path("participants/<str:participant_id>/conmeds/", views.conmed_list, name="conmeds"),
    path("participants/<str:participant_id>/conmeds/new/", views.conmed_edit, name="conmed_new"),
    path(
        "participants/<str:participant_id>/conmeds/<int:pk>/", views.conmed_edit, name="conmed_edit"
    ),
    path(
        "participants/<str:participant_id>/plots/<str:endpoint>.svg",
        views.endpoint_plot,
        name="plot",
    ),
]
