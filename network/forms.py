"""Forms of the public pages: the cascading location filter and the searches."""

from __future__ import annotations

import re

from django import forms
from django.core.validators import RegexValidator
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from geo.models import Comuna
from network.models import Distributor, Feeder, Substation, Transformer
from network.services.cascade import load_cascade

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


class CascadeChoiceField(forms.ChoiceField):
    """One level of the cascade: its choices are the entries the cascade read (value: the
    level's key, label: what the list shows); cleaning gives the chosen one as an instance."""

    def __init__(self, *, key: str = "pk", labelled: bool = True, **kwargs):
        self.key, self.labelled = key, labelled
        self.items: dict[str, object] = {}
        super().__init__(widget=FastSelect, **kwargs)

    def set_items(self, items) -> None:
        self.items = {str(getattr(i, self.key)): i for i in items}
        label = (lambda i: f"{i.code} · {i.name}") if self.labelled else (lambda i: i.name)
        self.choices = [("", "Seleccione…"), *((k, label(i)) for k, i in self.items.items())]

    def valid_value(self, value) -> bool:
        return str(value) in self.items

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip() if isinstance(value, str) else value

    def clean(self, value):
        value = super().clean(value)
        return self.items[value].instance() if value else None


class LocationForm(forms.Form):
    """BUSCAR UBICACIÓN (annex §2.3, fig. 5): each level's list depends on the level above.

    The five lists are read in one statement (network.services.cascade) and the chosen values
    are checked against them: `cascade` keeps the lists, the deepest one being the grid."""

    region = CascadeChoiceField(
        key="code",
        labelled=False,
        label="Región",
        error_messages={
            "required": "Seleccione una región.",
            "invalid_choice": "La región elegida no existe.",
        },
    )
    comuna = CascadeChoiceField(
        key="code",
        labelled=False,
        label="Comuna",
        error_messages={
            "required": "Seleccione una comuna.",
            "invalid_choice": "La comuna elegida no pertenece a la región seleccionada.",
        },
    )
    subestacion = CascadeChoiceField(
        label="Subestación",
        required=False,
        error_messages={
            "invalid_choice": "La subestación elegida no está en la comuna seleccionada."
        },
    )
    alimentador = CascadeChoiceField(
        label="Alimentador",
        required=False,
        error_messages={
            "invalid_choice": "El alimentador elegido no sale de la subestación seleccionada."
        },
    )
    transformador = CascadeChoiceField(
        label="Transformador",
        required=False,
        error_messages={
            "invalid_choice": "El transformador elegido no está en el alimentador seleccionado."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.data

        def typed(name: str) -> str:
            value = data.get(name) or ""
            return value.strip() if isinstance(value, str) else ""

        self.cascade = load_cascade(
            typed("region"), typed("comuna"), typed("subestacion"), typed("alimentador")
        )
        self.fields["region"].set_items(self.cascade.regions)
        self.fields["comuna"].set_items(self.cascade.comunas)
        self.fields["subestacion"].set_items(self.cascade.substations)
        self.fields["alimentador"].set_items(self.cascade.feeders)
        self.fields["transformador"].set_items(self.cascade.transformers)

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
