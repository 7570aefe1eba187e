"""What the API tests share: endpoint names and URLs, reading pages and CSV downloads."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

LISTS = [
    "regions",
    "comunas",
    "substations",
    "feeders",
    "spans",
    "poles",
    "equipment",
    "transformers",
    "demands",
    "vnr-codes",
]
GEOJSON_LISTS = [name for name in LISTS if name not in ("demands", "vnr-codes")]
BASENAMES = {
    "regions": "region",
    "comunas": "comuna",
    "substations": "substation",
    "feeders": "feeder",
    "spans": "span",
    "poles": "pole",
    "equipment": "equipment",
    "transformers": "transformer",
    "demands": "demand",
    "vnr-codes": "vnr-code",
    "customers": "customer",
}


def list_url(name: str) -> str:
    return reverse(f"api:{BASENAMES[name]}-list")


def detail_url(name: str, pk: int) -> str:
    return reverse(f"api:{BASENAMES[name]}-detail", args=[pk])


def ok(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.content[:500])
    return response.json()


def every_feature(client, url: str, params: dict | None = None) -> list[dict]:
    """Walks the `next` links to the end."""
    features, page = [], ok(client.get(url, params or {}))
    features += page["features"]
    while page["next"]:
        page = ok(client.get(page["next"]))
        features += page["features"]
    return features


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.content[:500]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
