"""Download of a feeder's KMZ plan (SPEC point 4)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from accounts.services import log_access
from geo.kmz import CONTENT_TYPE, is_stale, kmz_path, write_kmz
from network.models import Feeder


@require_safe
@login_required
def feeder_kmz(request: HttpRequest, pk: int) -> FileResponse:
    """The stored plan; built first when it is missing or older than the feeder's data."""
    feeder = get_object_or_404(Feeder.objects.only("pk", "code"), pk=pk)
    path = write_kmz(feeder) if is_stale(feeder) else kmz_path(feeder)
    log_access(request, "kmz", feeder.code)
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"alimentador-{feeder.code}.kmz",
        content_type=CONTENT_TYPE,
    )
