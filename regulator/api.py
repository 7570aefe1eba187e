"""Pull (§6, point 6): SEC lists the batches, downloads each manifest and file, and
acknowledges what it applied. Mounted at /api/regulador/ (namespace "regulator-api"); a token
(django-rest-knox, `Authorization: Token ...`) of an SEC account, and nobody else: 401 without
credentials, 403 for any other profile.

An acknowledgement names the manifest's sha256 (so SEC acknowledges what it applied, not a
number): 404 for a batch that does not exist, 409 for one already acknowledged or when an
earlier batch is not, 400 for a sha256 that is not the manifest's.
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import AccessLog
from accounts.permissions import ReceivesRegulatorFeed
from accounts.services import log_access
from regulator import delivery, files
from regulator.models import Batch

PERSONAL_ENTITIES = ("clientes",)
YES, NO = ("true", "1"), ("false", "0")


class BatchSerializer(serializers.ModelSerializer):
    manifest_url = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = [
            "number",
            "kind",
            "created_at",
            "records",
            "bytes",
            "manifest_sha256",
            "previous_manifest_sha256",
            "acknowledged_at",
            "acknowledged_via",
            "manifest_url",
        ]

    def get_manifest_url(self, batch) -> str:
        url = reverse("regulator-api:manifest", args=[batch.number])
        return self.context["request"].build_absolute_uri(url)


class FeedView(APIView):
    permission_classes = [IsAuthenticated, ReceivesRegulatorFeed]

    def batch(self, number: int) -> Batch:
        if not 0 <= number < 2**63:  # beyond the column: no such batch (never a 500)
            raise Http404(f"No existe el lote {number}.")
        found = Batch.objects.filter(number=number).first()
        if found is None:
            raise Http404(f"No existe el lote {number}.")
        return found


class BatchListView(FeedView):
    """The batches, oldest first; `?pendientes=1` only those not acknowledged yet."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "pendientes",
                bool,
                description="true: sólo los lotes sin acuse de recibo.",
            )
        ],
        responses=inline_serializer(
            "ListaDeLotes",
            {"count": serializers.IntegerField(), "results": BatchSerializer(many=True)},
        ),
        summary="Lotes para la SEC",
    )
    def get(self, request):
        batches = Batch.objects.order_by("number")
        pending = request.query_params.get("pendientes")
        if pending is not None and pending not in YES + NO:
            return Response(
                {"pendientes": f"Valor no válido: {pending[:40]!r}; use true o false."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if pending in YES:
            batches = batches.filter(acknowledged_at__isnull=True)
        data = BatchSerializer(batches, many=True, context={"request": request}).data
        return Response({"count": len(data), "results": data})


class ManifestView(FeedView):
    """The manifest's bytes, exactly as hashed (header X-Manifest-SHA256)."""

    @extend_schema(
        responses={(200, "application/json"): OpenApiResponse(description="El manifiesto.")},
        summary="Manifiesto de un lote",
    )
    def get(self, request, number: int):
        batch = self.batch(number)
        path = files.page_path(number, files.MANIFEST_FILE)
        if path is None:
            raise Http404(f"El lote {number} no tiene manifiesto en disco.")
        response = FileResponse(path.open("rb"), content_type="application/json")
        response["X-Manifest-SHA256"] = batch.manifest_sha256
        return response


class FileView(FeedView):
    """One page (gzip JSON Lines) or interval file (gzip CSV) of a batch."""

    @extend_schema(
        responses={(200, "application/gzip"): OpenApiResponse(description="El archivo.")},
        summary="Archivo de un lote",
    )
    def get(self, request, number: str, name: str):
        number = int(number)
        self.batch(number)
        path = files.page_path(number, name)
        if path is None or name == files.MANIFEST_FILE:
            raise Http404(f"El lote {number} no tiene el archivo {name}.")
        if name.startswith(PERSONAL_ENTITIES):
            log_access(request, AccessLog.Kind.REGULATOR_FEED, f"lote {number}: {name}")
        return FileResponse(path.open("rb"), content_type="application/gzip", as_attachment=True)


class AcknowledgementView(FeedView):
    @extend_schema(
        request=inline_serializer("Acuse", {"manifest_sha256": serializers.CharField()}),
        responses={200: BatchSerializer, 400: None, 404: None, 409: None},
        summary="Acusar recibo de un lote aplicado",
    )
    def post(self, request, number: int):
        sha256 = request.data.get("manifest_sha256") if hasattr(request.data, "get") else None
        if not isinstance(sha256, str) or len(sha256) != 64:
            return Response(
                {"detail": "Falta manifest_sha256: el sha256 (64 hex) del manifiesto aplicado."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        self.batch(int(number))
        try:
            batch = delivery.acknowledge(number, sha256.lower(), "pull", user=request.user)
        except delivery.WrongManifest as error:
            return Response(
                {"detail": str(error), "code": "manifiesto_distinto"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        except delivery.AlreadyAcknowledged as error:
            return Response(
                {"detail": str(error), "code": "ya_acusado"}, status=status.HTTP_409_CONFLICT
            )
        except delivery.OutOfOrder as error:
            return Response(
                {"detail": str(error), "code": "fuera_de_orden"}, status=status.HTTP_409_CONFLICT
            )
        return Response(BatchSerializer(batch, context={"request": request}).data)
