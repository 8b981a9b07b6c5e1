from django.urls import include, path

from trialportal.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401

urlpatterns = [*urlpatterns, path("crftest/", include("tests.crftest.urls"))]
