"""The volume estimate page (SEC, planners) and the published JSON Schemas of the contract."""

from __future__ import annotations

import json

from django.core.cache import cache
from django.urls import reverse

from regulator import contract


def test_sec_reads_the_estimate_of_every_entity(login_as, demo_network):
    cache.delete("regulator:volume")
    response = login_as("sec").get(reverse("regulator:volume"))
    assert response.status_code == 200
    page = response.content.decode()
    for entity in ("postes", "vanos", "clientes", "facturaciones_mensuales"):
        assert f"<code>{entity}</code>" in page
    assert "Total" in page and reverse("regulator:schemas") in page


def test_other_profiles_do_not_get_the_estimate(login_as, demo_network):
    for persona in ("public", "client", "eg"):
        assert login_as(persona).get(reverse("regulator:volume")).status_code == 403
    anonymous = login_as("anonymous").get(reverse("regulator:volume"))
    assert anonymous.status_code == 302


def test_the_schemas_are_published_and_are_the_contracts(client):
    index = client.get(reverse("regulator:schemas")).json()
    assert index["version"] == contract.CONTRACT_VERSION
    assert {"postes", "clientes", "envelope", "manifest"} <= set(index["schemas"])
    for name, url in index["schemas"].items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert response["Content-Type"] == "application/schema+json"
        published = json.loads(b"".join(response.streaming_content))
        assert published == json.loads((contract.SCHEMA_DIR / f"{name}.schema.json").read_text())
    assert client.get(reverse("regulator:schema", args=["no-existe"])).status_code == 404
