from accounts.access import can
from accounts.roles import Perm
from safety.services import open_alerts


def stopping_alerts(request):
    """Unacknowledged stopping-rule alerts: a banner on every page (one query per request)."""
    cached = getattr(request, "_stopping_alerts_context", None)
    if cached is None:
        cached = request._stopping_alerts_context = _stopping_alerts(request)
    return cached


def _stopping_alerts(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "stopping_alerts": list(open_alerts()[:5]),
        # The link to the safety dashboard, for those who may open it.
        "can_review_stopping_alerts": can(user, Perm.VIEW_DATA),
    }
