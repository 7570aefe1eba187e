"""Pagination of the API lists.

Small tables (regions, comunas, substations, feeders, VNR codes) page by number with a total
count. The big ones (spans and poles: 2.1 million rows each at national scale; transformers,
equipment, demands, customers) page with a cursor: no COUNT(*) over millions of rows and no
OFFSET that grows with the page number, so page 1 and page 20 000 cost the same.

The cursor of an asset hanging from a feeder runs over (feeder_id, id), not the bare id. Rows
are stored feeder by feeder, so the rows of a región, a comuna or a substation sit in a few
stretches of ids; with ORDER BY id LIMIT 101, PostgreSQL walks the primary key from the start
hoping to meet them early and reads a million rows first (poles of región 13 at national scale:
1.5 s). Ordered by feeder it walks the feeder index straight to them (5 ms). The cursor keeps
the feeder id and an offset inside that feeder, so `offset_cutoff` must exceed the largest feeder.
"""

from __future__ import annotations

import re

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response

MAX_PAGE_SIZE = 1000
DIGITS = re.compile(r"[0-9]{1,7}")


class StrictPageSize:
    """`page_size` from 1 to MAX_PAGE_SIZE; anything else is a 400, not silently the default
    (DRF's own reading falls back to it or cuts to the maximum without a word)."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        if not DIGITS.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        f"page_size debe ser un número entero de 1 a {self.max_page_size}."
                    ]
                }
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Filas por página, de 1 a {self.max_page_size} (sin él: {self.page_size})."
                )
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters


def _link(example: str) -> dict:
    return {"type": "string", "nullable": True, "format": "uri", "example": example}


class FeaturePagination(StrictPageSize, PageNumberPagination):
    """A GeoJSON FeatureCollection with `count`, `next` and `previous` (`?page=`)."""

    def get_paginated_response(self, data):
        return Response(
            {
                "type": "FeatureCollection",
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "features": data["features"],
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "allOf": [
                schema,
                {
                    "type": "object",
                    "properties": {
                        "count": {"type": "integer", "example": 123},
                        "next": _link("https://portal.example.cl/api/feeders/?page=4"),
                        "previous": _link("https://portal.example.cl/api/feeders/?page=2"),
                    },
                },
            ]
        }


class KeysetPagination(StrictPageSize, CursorPagination):
    """Cursor pagination ordered by the view's `cursor_ordering` (default: the id)."""

    ordering = "id"
    offset_cutoff = 100_000  # rows of one feeder (or comuna, for customers)
    invalid_cursor_message = (
        "Cursor no válido: siga los enlaces «next» y «previous» de la respuesta."
    )

    def decode_cursor(self, request):
        # `?cursor=` empty is the first page, as any other empty parameter is no parameter.
        if not request.query_params.get(self.cursor_query_param):
            return None
        return super().decode_cursor(request)

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)


class FeatureCursorPagination(KeysetPagination):
    """A GeoJSON FeatureCollection with `next` and `previous` links and no total count."""

    def get_paginated_response(self, data):
        return Response(
            {
                "type": "FeatureCollection",
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "features": data["features"],
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "allOf": [
                schema,
                {
                    "type": "object",
                    "properties": {
                        "next": _link("https://portal.example.cl/api/poles/?cursor=cD00ODY%3D"),
                        "previous": _link(
                            "https://portal.example.cl/api/poles/?cursor=cj0xJnA9NDg3"
                        ),
                    },
                },
            ]
        }


class NumberPagination(StrictPageSize, PageNumberPagination):
    pass


class IdCursorPagination(KeysetPagination):
    pass
