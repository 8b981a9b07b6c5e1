from django.urls import path

from crf import monitoring_views, views

app_name = "crf"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/open/", views.inbox_open, name="inbox_open"),
    path("records/<str:label>/<int:pk>/history/", views.record_history, name="history"),
    path("records/<str:label>/<int:pk>/retire/", views.record_retire, name="retire"),
    path("records/<str:label>/<int:pk>/monitor/", monitoring_views.record_monitor, name="monitor"),
    path("records/<str:label>/<int:pk>/verify/", monitoring_views.record_verify, name="verify"),
    path("records/<str:label>/<int:pk>/sign/<str:scope>/", monitoring_views.sign, name="sign"),
    path("records/<str:label>/<int:pk>/lock/<str:scope>/", monitoring_views.lock, name="lock"),
    path(
        "records/<str:label>/<int:pk>/unlock/<str:scope>/", monitoring_views.unlock, name="unlock"
    ),
    path("queries/", monitoring_views.query_list, name="queries"),
    path("queries/<int:pk>/", monitoring_views.query_detail, name="query"),
    path("monitoring/sdv/", monitoring_views.sdv_progress, name="sdv"),
    path("monitoring/sdv/<str:subject>/", monitoring_views.sdv_participant, name="sdv_participant"),
    path("audit/", monitoring_views.audit_review, name="audit"),
]
