"""RejectUnstorableInput: a request carrying text PostgreSQL cannot store gets a 400 before any
view sees it, instead of a 500 from the database at whatever query first uses it.

PostgreSQL refuses NUL in text ("A string literal cannot contain NUL (0x00) characters"), and
a lone UTF-16 surrogate cannot be encoded to UTF-8 at all. A NUL arrives percent-encoded in a
path, a query string or a form (`%00`), or raw in a body; a lone surrogate only from a JSON
escape (`"\\ud800"`): Django decodes paths, query strings and forms with errors="replace".

What is checked, and what is left to the view:

- the path, and every name and value of the query string;
- the names and values of a POSTed form (urlencoded or multipart), when the body is at most
  DATA_UPLOAD_MAX_MEMORY_SIZE (Django's file names are cleaned of control characters already).
  Reading request.POST here is what CsrfViewMiddleware does anyway; it fixes the upload
  handlers, which no view of ours changes;
- a JSON, XML or text body of at most that size, decoded with its charset: for a NUL, and in
  JSON for escapes that decode to a NUL or a lone surrogate (parsed only when one is there);
- larger bodies and streams are not read here: the view bounds and reads them itself (the DR
  messages API, for one, takes XML of up to 10 MB and checks what it parsed).

Cookies with such characters are dropped rather than refused: a visitor cannot fix a cookie
their browser holds, and a session cookie that cannot match a row is no session.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string

UNSTORABLE_CHARACTER = (
    "un carácter no admitido (el carácter nulo U+0000 o un sustituto UTF-16 aislado)"
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON escape that may decode to an unstorable character; a body without one needs no parse.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89abcdefABCDEF][0-9a-fA-F]{2})")
_FORMS = {"application/x-www-form-urlencoded", "multipart/form-data"}
_DEFAULT_MAX_BODY = 2_621_440  # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE default


def unstorable(text: str) -> bool:
    """Whether `text` holds a character PostgreSQL cannot store (NUL, a lone surrogate)."""
    return _UNSTORABLE.search(text) is not None


class RejectUnstorableInput:
    """Answer 400 (a Spanish page, or {"detail": …} under /api/) to a request whose path,
    query string, form or small text body holds an unstorable character."""

    api_prefix = "/api/"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _drop_unstorable_cookies(request)
        where = _where_unstorable(request)
        if where is not None:
            return self.refuse(request, f"{where} contiene {UNSTORABLE_CHARACTER}.")
        return self.get_response(request)

    def refuse(self, request: HttpRequest, reason: str) -> HttpResponse:
        if request.path_info.startswith(self.api_prefix):
            return JsonResponse({"detail": reason}, status=400)
        # No request context: the page must not touch the session or the user, which the
        # middleware after this one set up.
        return HttpResponseBadRequest(render_to_string("400.html", {"reason": reason}))


def _where_unstorable(request: HttpRequest) -> str | None:
    """What part of the request holds an unstorable character (a Spanish phrase), or None."""
    if unstorable(request.path):
        return "La dirección"
    where = _in_pairs(request.GET.lists(), "parámetro")
    if where is not None:
        return where
    content_type = request.content_type or ""
    if not _small_body(request):
        return None
    if content_type in _FORMS:
        if request.method == "POST":
            return _in_pairs(request.POST.lists(), "campo") or _in_pairs(
                ((name, []) for name in request.FILES), "campo"
            )
        return None  # Django parses forms on POST only; a view reading others reads its own
    if _is_text(content_type):
        return _in_body(request, content_type)
    return None


def _in_pairs(pairs: Iterable[tuple[str, list]], noun: str) -> str | None:
    for name, values in pairs:
        if unstorable(name):
            return f"El nombre de un {noun}"
        if any(isinstance(value, str) and unstorable(value) for value in values):
            return f"El {noun} «{name[:40]}»"
    return None


def _small_body(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or _DEFAULT_MAX_BODY
    return 0 < length <= limit


def _is_text(content_type: str) -> bool:
    return (
        content_type.startswith("text/")
        or content_type in ("application/json", "application/xml")
        or content_type.endswith(("+json", "+xml"))
    )


def _in_body(request: HttpRequest, content_type: str) -> str | None:
    try:
        text = request.body.decode(request.encoding or "utf-8")
    except (UnicodeDecodeError, LookupError):
        return None  # not text in its charset: the view's parser says so
    if "\x00" in text:
        return "El cuerpo de la solicitud"
    is_json = content_type == "application/json" or content_type.endswith("+json")
    if is_json and _SUSPECT_ESCAPE.search(text):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None  # malformed or too deep: the view's parser refuses it with its reason
        if any(unstorable(value) for value in _json_strings(data)):
            return "El cuerpo de la solicitud"
    return None


def _json_strings(data: Any) -> Iterator[str]:
    """Every key and string value of decoded JSON, without recursion (it may nest deep)."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _drop_unstorable_cookies(request: HttpRequest) -> None:
    cookies = request.COOKIES
    for name in [n for n, value in cookies.items() if unstorable(n) or unstorable(value)]:
        del cookies[name]


class PermissionsPolicy:
    """A Permissions-Policy header (settings.PERMISSIONS_POLICY) on every response that has
    none: the browser features no page of ours uses are refused to it and to any frame."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "PERMISSIONS_POLICY", "")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.policy
        return response
