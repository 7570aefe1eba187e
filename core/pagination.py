"""Pages of the portal's HTML grids."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, items, per_page: int, param: str = "pagina"):
    """A page of `items`; a bad page number gets a message and the nearest real page."""
    paginator = Paginator(items, per_page)
    raw = request.GET.get(param, "1")
    try:
        return paginator.page(raw)
    except PageNotAnInteger:
        messages.warning(request, f"«{raw[:20]}» no es un número de página; se muestra la 1.")
        return paginator.page(1)
    except EmptyPage:
        last = paginator.num_pages
        messages.warning(request, f"La página {raw} no existe; se muestra la última ({last}).")
        return paginator.page(last)
