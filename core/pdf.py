"""GUARDAR: the page the user sees, rendered on the server as a PDF (WeasyPrint).

The same template renders both; in PDF mode the map is a static SVG with scale bar beside an
HTML legend, scripts are left out, and the print stylesheet applies (WeasyPrint renders for
print media).
Static files are read from disk, never fetched over the network.
"""

from __future__ import annotations

import functools
import mimetypes
import os
import re
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.text import slugify

PDF_CONTENT_TYPE = "application/pdf"


def wants_pdf(request: HttpRequest) -> bool:
    return request.GET.get("formato") == "pdf"


def _static_fetcher(url: str, *args, **kwargs) -> dict:
    """Serve /static/ URLs from the static files finders; refuse anything else."""
    path = unquote(urlparse(url).path)
    if path.startswith(settings.STATIC_URL):
        found = finders.find(path[len(settings.STATIC_URL) :])
        if found:
            mime, _ = mimetypes.guess_type(found)
            with open(found, "rb") as handle:
                return {"string": handle.read(), "mime_type": mime}
    raise ValueError(f"PDF: recurso no disponible sin conexión: {url}")


_STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"(?: media="([^"]*)")?>')


@functools.lru_cache(maxsize=32)
def _parsed_css(path: str, mtime: float):
    """A static stylesheet parsed once per process (and again if the file changes): parsing
    portal.css and print.css was a tenth of every PDF."""
    from weasyprint import CSS

    return CSS(filename=path)


def _cached_stylesheets(html: str) -> tuple[str, list]:
    """The page's static stylesheets taken out of its HTML, parsed from the cache, in their
    order (a `media` other than print or all does not apply to a PDF). Links to anything
    else stay in the HTML for the fetcher."""
    sheets = []

    def take(match: re.Match) -> str:
        path = unquote(urlparse(match.group(1)).path)
        found = path.startswith(settings.STATIC_URL) and finders.find(
            path[len(settings.STATIC_URL) :]
        )
        if not found:
            return match.group(0)
        if (match.group(2) or "all").strip() in ("all", "print"):
            sheets.append(_parsed_css(found, os.path.getmtime(found)))
        return ""

    return _STYLESHEET.sub(take, html), sheets


def render_pdf(request: HttpRequest, template: str, context: dict, filename: str) -> HttpResponse:
    from weasyprint import HTML

    html = render_to_string(template, {**context, "pdf": True}, request=request)
    html, stylesheets = _cached_stylesheets(html)
    document = HTML(
        string=html, base_url=request.build_absolute_uri("/"), url_fetcher=_static_fetcher
    )
    response = HttpResponse(
        document.write_pdf(stylesheets=stylesheets), content_type=PDF_CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{slugify(filename) or "pagina"}.pdf"'
    return response
