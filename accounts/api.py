"""The access log of the REST API: one row for each successful read."""

from __future__ import annotations

from accounts.services import log_access


class AccessLogged:
    # One access-log row for each successful read. accounts.AccessLog has no "api" kind: a list
    # is a "busqueda", a detail its entity's kind. (Comments, not a docstring: docstrings end up
    # in the OpenAPI descriptions.)

    list_kind = "busqueda"
    detail_kind = "busqueda"
    log_name = "api"

    def access_reference(self, request) -> str:
        instance = getattr(self, "_logged_instance", None)
        if instance is not None:
            return str(getattr(instance, "code", None) or getattr(instance, "number", instance))
        name = getattr(self, "basename", None) or self.log_name
        return f"API {name}: {request.GET.urlencode()}"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if 200 <= response.status_code < 300 and request.method == "GET":
            detail = getattr(self, "_logged_instance", None) is not None
            kind = self.detail_kind if detail else self.list_kind
            log_access(request, kind, self.access_reference(request))
        return response
