from crf.audit import actor_context, audit_context, new_request_id

# Requests that can change data carry an audit context; reads do not write events.
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class AuditContextMiddleware:
    """Attach user, role, IP, URL and a request id to the audit events a request writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request.headers.get("X-Request-ID") or new_request_id()
        if request.method not in _WRITE_METHODS:
            return self.get_response(request)
        with audit_context(
            request_id=request.request_id,
            ip=request.META.get("REMOTE_ADDR"),
            url=request.path,
            method=request.method,
            **actor_context(getattr(request, "user", None)),
        ):
            return self.get_response(request)
