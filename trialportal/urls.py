from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from accounts.admin import site as accounts_admin_site
from dashboards.views import home
from ops.views import health

urlpatterns = [
    path("health/", health, name="health"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("admin/", accounts_admin_site.urls),
    path("", home, name="home"),
    path("", include("crf.urls")),
    path("", include("enrollment.urls")),
    path("", include("dosing.urls")),
    path("", include("safety.urls")),
    path("", include("outcomes.urls")),
    path("", include("reports.urls")),
    path("", include("dashboards.urls")),
]

handler403 = "trialportal.errors.permission_denied"
handler404 = "trialportal.errors.page_not_found"
handler500 = "trialportal.errors.server_error"
