"""GeoJSON and CSV renderers of the API and of the portal's grid downloads.

The CSV is meant for Excel in Chile: UTF-8 with a byte-order mark (without it Excel reads the
accents as Latin-1), ';' between columns because ',' is the decimal mark, decimals written with
a comma and dates as dd/mm/aaaa.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

from rest_framework.renderers import BaseRenderer, JSONRenderer

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"-?[0-9]+([.,][0-9]+)?")


class GeoJSONRenderer(JSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


def csv_value(value) -> str:
    """One cell as Chilean Excel reads it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Sí" if value else "No"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, list | tuple):
        return ", ".join(csv_value(item) for item in value)
    text = str(value)
    # A cell Excel would read as a formula is written as text (CSV injection).
    if text[:1] in FORMULA_STARTS and not NUMBER.fullmatch(text):
        return "'" + text
    return text


class CSVRenderer(BaseRenderer):
    """A FeatureCollection's properties as CSV rows, one column per (key, header) of the view.

    The view names its columns in `csv_columns`: [(property key, Spanish header), …]. Without
    it, every property of the first feature is a column, headed by its key.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        view = (renderer_context or {}).get("view")
        features = (data or {}).get("features", []) if isinstance(data, dict) else []
        columns = getattr(view, "csv_columns", None)
        if columns is None:
            keys = list(features[0]["properties"]) if features else []
            columns = [(key, key) for key in keys]
        out = io.StringIO()
        out.write(BOM)
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([header for _, header in columns])
        for feature in features:
            properties = feature["properties"]
            writer.writerow([csv_value(properties.get(key)) for key, _ in columns])
        return out.getvalue().encode(self.charset)


def csv_lines(header: list[str], rows) -> Iterator[str]:
    """The CSV for Excel in Chile, a row at a time (for a StreamingHttpResponse): the BOM and
    the header, then each row of `rows` (iterables of cell values, through csv_value)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    yield BOM + out.getvalue()
    for row in rows:
        out.seek(0)
        out.truncate()
        writer.writerow([csv_value(v) for v in row])
        yield out.getvalue()
