from django.urls import path

from safety import views

app_name = "safety"
urlpatterns = [
    path("safety/", views.dashboard, name="dashboard"),
    path("safety/export.csv", views.export_csv, name="export_csv"),
    path("safety/terms/", views.term_search, name="term_search"),
    path("safety/terms/grades/", views.term_grades, name="term_grades"),
    path("safety/ae/new/<str:participant_id>/", views.ae_new, name="ae_new"),
    path("safety/ae/<int:pk>/", views.ae_detail, name="ae_detail"),
    path("safety/ae/<int:pk>/edit/", views.ae_edit, name="ae_edit"),
    path("safety/ae/<int:pk>/assess/", views.ae_assess, name="ae_assess"),
    path("safety/ae/<int:pk>/follow-up/", views.ae_follow_up, name="ae_follow_up"),
    path("safety/ae/<int:pk>/report/", views.report_add, name="report_add"),
    path("safety/alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
]
