from django.urls import path

from crf import views

app_name = "crf"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/open/", views.inbox_open, name="inbox_open"),
    path("records/<str:label>/<int:pk>/history/", views.record_history, name="history"),
    path("records/<str:label>/<int:pk>/retire/", views.record_retire, name="retire"),
]
