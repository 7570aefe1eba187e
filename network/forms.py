"""Forms of the public pages: the cascading location filter and the searches."""

from __future__ import annotations

import re

from django import forms
from django.core.validators import RegexValidator
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from geo.models import Comuna, Region
from network.models import Distributor, Feeder, Substation, Transformer

IDENTIFIER = RegexValidator(
    re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,29}$"),
    "El identificador solo puede contener letras, números, puntos, guiones y barras "
    "(máximo 30 caracteres).",
)
LEVELS = ("region", "comuna", "subestacion", "alimentador", "transformador")


class FastSelect(forms.Select):
    """A <select> built in Python: the template-per-option widget costs ~3 ms a list."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        selected = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (str(v), mark_safe(" selected") if str(v) == selected else "", label)
                for v, label in self.choices
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(attrs), options)


# Below comuna, each level: its model, the filter on the parent's primary key, the order.
_ASSET_LEVELS = {
    "subestacion": (Substation, "comuna__code", "name"),
    "alimentador": (Feeder, "substation_id", "name"),
    "transformador": (Transformer, "feeder_id", "code"),
}


def options_for(level: str, parent: str) -> list[tuple[str, str]]:
    """(value, label) of the choices at `level` under the `parent` value of the level above."""
    if level == "comuna":
        rows = Comuna.objects.filter(region__code=parent).values_list("code", "name")
        return [(code, name) for code, name in rows]
    if level not in _ASSET_LEVELS:
        return []
    model, parent_field, order = _ASSET_LEVELS[level]
    if parent_field.endswith("_id") and not parent.isdigit():
        return []
    rows = (
        model.objects.filter(**{parent_field: parent})
        .order_by(order)
        .values_list("pk", "code", "name")
    )
    return [(str(pk), f"{code} · {name}") for pk, code, name in rows]


class LocationForm(forms.Form):
    """BUSCAR UBICACIÓN (annex §2.3, fig. 5): each level's list depends on the level above."""

    region = forms.ModelChoiceField(
        Region.objects.only("pk", "code", "name"),
        to_field_name="code",
        widget=FastSelect,
        label="Región",
        empty_label="Seleccione…",
        error_messages={
            "required": "Seleccione una región.",
            "invalid_choice": "La región elegida no existe.",
        },
    )
    comuna = forms.ModelChoiceField(
        Comuna.objects.none(),
        to_field_name="code",
        widget=FastSelect,
        label="Comuna",
        empty_label="Seleccione…",
        error_messages={
            "required": "Seleccione una comuna.",
            "invalid_choice": "La comuna elegida no pertenece a la región seleccionada.",
        },
    )
    subestacion = forms.ModelChoiceField(
        Substation.objects.none(),
        label="Subestación",
        widget=FastSelect,
        required=False,
        empty_label="Seleccione…",
        error_messages={
            "invalid_choice": "La subestación elegida no está en la comuna seleccionada."
        },
    )
    alimentador = forms.ModelChoiceField(
        Feeder.objects.none(),
        label="Alimentador",
        widget=FastSelect,
        required=False,
        empty_label="Seleccione…",
        error_messages={
            "invalid_choice": "El alimentador elegido no sale de la subestación seleccionada."
        },
    )
    transformador = forms.ModelChoiceField(
        Transformer.objects.none(),
        label="Transformador",
        widget=FastSelect,
        required=False,
        empty_label="Seleccione…",
        error_messages={
            "invalid_choice": "El transformador elegido no está en el alimentador seleccionado."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.data
        region = data.get("region") or ""
        comuna = data.get("comuna") or ""
        substation = data.get("subestacion") or ""
        feeder = data.get("alimentador") or ""
        # Only what the lists show: boundaries and geometries stay in the database.
        self.fields["comuna"].queryset = Comuna.objects.filter(region__code=region).only(
            "pk", "code", "name", "region_id"
        )
        self.fields["subestacion"].queryset = (
            Substation.objects.filter(comuna__code=comuna, comuna__region__code=region)
            .only("pk", "code", "name", "comuna_id", "as_of")
            .order_by("name")
        )
        self.fields["alimentador"].queryset = (
            Feeder.objects.filter(substation_id=substation, substation__comuna__code=comuna)
            if substation.isdigit()
            else Feeder.objects.none()
        ).order_by("name")
        self.fields["transformador"].queryset = (
            (
                Transformer.objects.filter(feeder_id=feeder, feeder__substation_id=substation)
                if feeder.isdigit() and substation.isdigit()
                else Transformer.objects.none()
            )
            .only("pk", "code", "name", "feeder_id")
            .order_by("code")
        )
        # Choice labels: "code · name" like the JSON lists the script loads.
        for name in ("subestacion", "alimentador", "transformador"):
            self.fields[name].label_from_instance = lambda obj: f"{obj.code} · {obj.name}"

    def clean(self):
        cleaned = super().clean()
        # A deeper level without its parent is meaningless: drop what hangs from nothing.
        for upper, lower in zip(LEVELS[2:], LEVELS[3:], strict=False):
            if not cleaned.get(upper):
                cleaned[lower] = None
        return cleaned

    @property
    def deepest(self) -> str | None:
        if not self.is_valid():
            return None
        for level in reversed(LEVELS):
            if self.cleaned_data.get(level):
                return level
        return None


class FeederAssetSearchForm(forms.Form):
    """Inside a feeder: search by pole, span or equipment id (annex §2.3 fig. 11)."""

    KINDS = [("poste", "Poste"), ("vano", "Vano"), ("equipo", "Equipo")]
    tipo = forms.ChoiceField(
        choices=KINDS,
        label="Buscar por",
        initial="poste",
        error_messages={"invalid_choice": "Elija poste, vano o equipo."},
    )
    id = forms.CharField(
        label="Identificador",
        required=False,
        max_length=30,
        validators=[IDENTIFIER],
        help_text="Vacío: todos los del alimentador.",
        error_messages={"max_length": "El identificador tiene como máximo 30 caracteres."},
    )


class TransformerSearchForm(forms.Form):
    """BUSCAR TRANSFORMADOR (annex §2.4, fig. 15): one identifier of three kinds."""

    placa_transformador = forms.CharField(
        label="Placa transformador", required=False, max_length=30, validators=[IDENTIFIER]
    )
    placa_poste = forms.CharField(
        label="Placa poste", required=False, max_length=30, validators=[IDENTIFIER]
    )
    cliente = forms.CharField(
        label="N° Cliente", required=False, max_length=20, validators=[IDENTIFIER]
    )

    def clean(self):
        cleaned = super().clean()
        given = [name for name in self.fields if cleaned.get(name)]
        if not given and not self.errors:
            raise forms.ValidationError(
                "Ingrese la placa del transformador, la placa del poste o el número de cliente."
            )
        if len(given) > 1:
            raise forms.ValidationError("Ingrese un solo identificador a la vez.")
        return cleaned


class VnrSearchForm(forms.Form):
    codigo = forms.CharField(
        label="Código VNR",
        max_length=30,
        validators=[IDENTIFIER],
        error_messages={"required": "Ingrese un código VNR."},
    )


def distributor_field() -> forms.ChoiceField:
    """The distributor an import is for (the admin's import kinds that need one)."""
    return forms.ChoiceField(
        label="Distribuidora",
        choices=[("", "—")]
        + [(d.code, f"{d.code} · {d.name}") for d in Distributor.objects.order_by("code")],
        required=True,
    )
