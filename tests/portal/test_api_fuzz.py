"""The API against its own OpenAPI schema (schemathesis), over the demo network.

A bounded run: a few generated requests per operation and persona (positive and negative
data, the schema's boundary values), sent in-process to the WSGI application with an API
token. Every answer must be no server error, have a status code, content type, headers and
body the schema documents, and invalid data must be refused with a 4xx.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from knox.settings import CONSTANTS
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
APP = get_wsgi_application()
PERSONAS = ("sec", "public", "planner")
# Revoking the persona's tokens in the middle of the run tells nothing the token tests do not.
SKIPPED = {("DELETE", "/api/token/")}


def openapi() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


@pytest.fixture
def api_schema(demo_network, db):
    # As Django's test client does: a request's end must not close the test's connection
    # (and with it the transaction the test runs in).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_dict(openapi())
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def token_of(user) -> str:
    _, key = AuthToken.objects.create(user, expiry=timedelta(hours=1))
    return key


@pytest.fixture
def api_tokens(persona_users):
    """Each persona's token, created once for the run and again only if it went away. (A new
    token for every request piles thousands on each user, and knox reads all of a user's
    tokens on every authentication: most of the run's time went there.)"""
    tokens: dict[str, str] = {}

    def token_for(persona: str) -> str:
        key = tokens.get(persona)
        prefix = key[: CONSTANTS.TOKEN_KEY_LENGTH] if key else None
        if key is None or not AuthToken.objects.filter(token_key=prefix).exists():
            key = tokens[persona] = token_of(persona_users[persona])
        return key

    return token_for


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, api_tokens):
    if (case.method, case.path) in SKIPPED:
        pytest.skip("revokes the run's own token")
    # The same request as each persona that uses the API: SEC (everything), a registered
    # PMGD developer (the network, not customers or DR) and a planner (network and DR). The
    # coverage phase (every boundary and invalid value of every parameter: most of the
    # requests) as SEC only, who reaches every operation's code with them.
    phase = case.meta.phase.name.value if case.meta is not None else None
    for persona in PERSONAS if phase != "coverage" else ("sec",):
        case.call_and_validate(
            base_url="http://testserver",
            app=APP,
            headers={"Authorization": f"Token {api_tokens(persona)}"},
            checks=CHECKS,
        )


def test_schema_documents_errors_and_filter_formats():
    """What the run above relies on, checked on the schema itself (not vacuous)."""
    paths = openapi()["paths"]
    operations = [(path, op) for path, ops in paths.items() for op in ops.values()]
    assert len(operations) > 30
    for path, operation in operations:
        codes = set(operation["responses"])
        assert {"401", "403", "404"} <= codes, path
        query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        if any(p["name"] != "format" for p in query) or "requestBody" in operation:
            assert "400" in codes, path
        for parameter in query:
            assert parameter.get("description"), (path, parameter["name"])
    poles = {p["name"]: p for p in paths["/api/poles/"]["get"]["parameters"]}
    assert poles["comuna"]["schema"]["pattern"] == "^[0-9]{5}$"
    assert poles["region"]["schema"]["pattern"] == "^[0-9]{2}$"
    assert poles["page_size"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
