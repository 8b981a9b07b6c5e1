from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("participants/", views.participant_list, name="participant_list"),
    path("participants/<str:participant_id>/", views.casebook, name="casebook"),
    path("consort/", views.consort, name="consort"),
    path("worklist/", views.worklist, name="worklist"),
]
