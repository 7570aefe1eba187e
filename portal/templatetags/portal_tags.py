from __future__ import annotations

from django import template
from django.utils.http import urlencode

from capacity.services.query import capacity_class as class_of
from core import numbers

register = template.Library()


@register.simple_tag(takes_context=True)
def pdf_url(context) -> str:
    """The current page with its filters, as a PDF (GUARDAR)."""
    request = context["request"]
    params = request.GET.copy()
    params["formato"] = "pdf"
    return f"{request.path}?{params.urlencode()}"


@register.simple_tag(takes_context=True)
def page_url(context, number: int, name: str = "") -> str:
    params = context["request"].GET.copy()
    params[name or "pagina"] = number
    params.pop("formato", None)
    return f"?{params.urlencode()}"


@register.filter
def clp(value) -> str:
    """A peso amount as Chileans write it: $ 1.234.567."""
    return numbers.clp(value)


@register.filter
def clp_signed(value) -> str:
    """A change of a peso amount: +$ 1.234 or −$ 1.234."""
    return numbers.clp(value, signed=True)


@register.filter
def num(value, decimals: int = 1) -> str:
    """A figure with Chilean separators: 1.234,5."""
    return numbers.number(value, decimals)


@register.simple_tag
def query(**kwargs) -> str:
    return urlencode({k: v for k, v in kwargs.items() if v not in (None, "")})


@register.filter
def with_load_transfer(demands) -> bool:
    """Whether any month's figures could not leave out load-transfer periods."""
    return any(not d.excludes_load_transfer for d in demands)


@register.filter
def get(mapping, key):
    """mapping[key] in a template (None when missing)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def capacity_class(mw) -> str:
    """The class of an available capacity (MW): baja, media, alta (capacity.services.query)."""
    return class_of(mw) or "sin-datos"


@register.filter
def mva(kva):
    """kVA as MVA."""
    return None if kva is None else float(kva) / 1000
