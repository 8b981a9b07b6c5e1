from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.report_list, name="list"),
    path("reports/<int:pk>/download/", views.report_download, name="download"),
    path("reports/<int:pk>/retry/", views.report_retry, name="retry"),
    path("exports/", views.exports, name="exports"),
    path("exports/<str:kind>/", views.export_download, name="export"),
]
