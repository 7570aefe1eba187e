"""The OpenAPI schema says every answer an operation can give and every filter's format.

drf-spectacular documents the success answers a view declares; DRF answers the errors
itself, so they are added here for every operation:

- 400 where the operation takes query parameters or a body (a refused filter, page size or
  body, each message under its parameter's name);
- 401 where it needs a login or a token (none given, or the token expired or was revoked);
- 403 where it needs one: the profile may not do it (or a session request's CSRF failed);
- 404 for every operation: an id that does not exist or is not visible to the user, a page
  past the last one, an unknown `format`.

An optional query parameter given empty (`?region=`) is the same as not given, as in the
portal's forms; the schema says so with `allowEmptyValue`.

Filters whose schema is overridden (`extend_schema_field`) lose their `help_text` in
drf-spectacular; the filter extension below puts it back and adds the pattern of the
filter's regular-expression validator, so the format of every filter is in the schema.
"""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.contrib.rest_framework_gis import GeoFeatureModelSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny

ERROR_SCHEMA = {
    "type": "object",
    "description": "Un error: `detail` lo explica en castellano.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
INVALID_SCHEMA = {
    "type": "object",
    "description": "Parámetros o cuerpo rechazados: cada mensaje bajo el nombre del parámetro "
    "o campo que lo causó (`detail` o `non_field_errors` si no es de uno).",
    "additionalProperties": {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": True},
        ]
    },
}
DESCRIPTIONS = {
    "400": "Parámetros o cuerpo no válidos; cada problema bajo su parámetro.",
    "401": "Sin sesión ni token, o el token venció o fue revocado.",
    "403": "El perfil del usuario no permite esta operación (o falló el CSRF de la sesión).",
    "404": "No existe, o no es visible para este usuario; o página fuera de rango, o "
    "`format` desconocido.",
}
JSON = "application/json"


class PortalAutoSchema(AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "format" and not parameter.get("description"):
                parameter["description"] = (
                    "Formato de la respuesta (o la cabecera Accept); otro valor responde 404."
                )
            if parameter["in"] == "query" and not parameter.get("required"):
                # The API's convention, as the portal's forms: an empty value is the same as
                # leaving the parameter out.
                parameter["allowEmptyValue"] = True
        responses = operation.setdefault("responses", {})
        media = self._error_media(responses)
        for code, response in responses.items():
            # An error the view documents with a body of its own may still come from DRF, a
            # parser or a middleware as the usual `{"detail": …}`.
            if code.startswith("4"):
                component = self._component("ValidationError" if code == "400" else "Error")
                for content in (response.get("content") or {}).values():
                    if "schema" in content:
                        content["schema"] = {"anyOf": [content["schema"], component.ref]}
        for code in self._error_codes(operation):
            if code in responses:
                continue
            component = self._component("ValidationError" if code == "400" else "Error")
            responses[code] = {
                "description": DESCRIPTIONS[code],
                "content": {media_type: {"schema": component.ref} for media_type in media},
            }
        return operation

    def _error_codes(self, operation: dict) -> list[str]:
        codes = []
        parameters = [p for p in operation.get("parameters", []) if p["name"] != "format"]
        if parameters or operation.get("requestBody"):
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        codes.append("404")
        return codes

    @staticmethod
    def _error_media(responses: dict) -> list[str]:
        """Errors are rendered in the format asked for, so in any media type of the success
        answer; JSON always (an unknown `format` falls back to it)."""
        media = [JSON]
        for code, response in responses.items():
            if code.startswith("2"):
                for media_type in response.get("content") or {}:
                    if media_type not in media:
                        media.append(media_type)
        return media

    def _component(self, name: str) -> ResolvedComponent:
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema=ERROR_SCHEMA if name == "Error" else INVALID_SCHEMA,
        )
        self.registry.register_on_missing(component)
        return component


class DescribedFilterExtension(DjangoFilterExtension):
    """django-filter parameters with their description and pattern, overrides included."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        help_text = filter_field.extra.get("help_text")
        pattern = _pattern(filter_field.extra.get("validators") or [])
        for parameter in parameters:
            if help_text and not parameter.get("description"):
                parameter["description"] = str(help_text)
            schema = parameter.get("schema", {})
            if pattern and schema.get("type") == "string" and "pattern" not in schema:
                schema["pattern"] = pattern
        return parameters


class NullableGeometryExtension(GeoFeatureModelSerializerExtension):
    """A feature's `geometry` is nullable when its field or model field allows null (the
    boundaries of regions and comunas come only with `?boundary=1`)."""

    priority = 1

    def map_geo_feature_model_serializer(self, serializer, base_schema):
        schema = super().map_geo_feature_model_serializer(serializer, base_schema)
        name = serializer.Meta.geo_field
        field = serializer.fields[name]
        model_field = serializer.Meta.model._meta.get_field(name)
        geometry = schema["properties"].get("geometry")
        if geometry is not None and (field.allow_null or model_field.null):
            geometry["nullable"] = True
        return schema


def _pattern(validators) -> str | None:
    for validator in validators:
        if isinstance(validator, RegexValidator) and not validator.inverse_match:
            regex = validator.regex
            return regex.pattern if isinstance(regex, re.Pattern) else str(regex)
    return None
