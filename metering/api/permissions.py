"""Who may use the demand response API: readers (the SEC profile, planners, accounts given
metering.view_drevent) and the integration account that posts messages."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from accounts.permissions import reads_demand_response

INGEST_PERMISSION = "metering.ingest_dr_messages"
READ_PERMISSION = "metering.view_drevent"


class CanReadDr(BasePermission):
    message = (
        "Solo el perfil SEC, los planificadores y las cuentas autorizadas consultan la "
        "respuesta a la demanda."
    )

    def has_permission(self, request, view) -> bool:
        return reads_demand_response(request.user, READ_PERMISSION)


class CanIngestDr(BasePermission):
    message = "Esta cuenta no tiene permiso para enviar mensajes de respuesta a la demanda."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(INGEST_PERMISSION))


class ReadsOrIngests(BasePermission):
    # The integration account reads back what became of its messages.
    message = CanReadDr.message

    def has_permission(self, request, view) -> bool:
        return CanReadDr().has_permission(request, view) or CanIngestDr().has_permission(
            request, view
        )
