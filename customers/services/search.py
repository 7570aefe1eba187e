"""The SEC auditor's customer search (§3): by customer number, by RUT written any usual way,
or by address ignoring accents and case and matching partial words.

Each search is answered by an index: the number and RUT by their btree indexes, the address by
the trigram index over `portal_unaccent(address)` (customers migration 0002), one `LIKE` per
word, all of them required. Results are read a page at a time without a full count: a
common word matches tens of thousands of customers, and reading them all is what would cost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import CharField, F, Func, QuerySet, Value

from accounts.lib import RutError, normalize_rut
from network.models import Customer

PAGE_SIZE = 25
CSV_CAP = 10_000  # a download is for an audit sample, not a copy of the customer base
COUNT_CAP = 1000  # "más de 1.000": enough to tell the auditor to narrow the search
MIN_WORD = 3  # the trigram index serves words of three letters or more
KINDS = {"numero": "N° de cliente", "rut": "RUT", "direccion": "Dirección"}


class SearchError(ValueError):
    """A search the page answers with a message (empty, a bad RUT, too short an address)."""


class Unaccent(Func):
    function = "portal_unaccent"
    output_field = CharField()


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    normalized: str

    @property
    def label(self) -> str:
        return f"{KINDS[self.kind]}: {self.text}"


def parse(kind: str, text: str) -> Query:
    """The search as typed, checked; SearchError with the page's message otherwise."""
    text = (text or "").strip()
    if kind not in KINDS:
        raise SearchError("Elija buscar por número de cliente, RUT o dirección.")
    if not text:
        raise SearchError(f"Escriba el {KINDS[kind].lower()} que busca.")
    if kind == "rut":
        try:
            return Query(kind, text, normalize_rut(text))
        except RutError as problem:
            raise SearchError(str(problem)) from None
    if kind == "numero":
        if len(text) > 20 or not re.fullmatch(r"[0-9A-Za-z-]+", text):
            raise SearchError("El número de cliente tiene solo números, letras y guiones.")
        return Query(kind, text, text.upper())
    words = [w for w in re.split(r"\s+", text) if len(w) >= MIN_WORD]
    if not words:
        raise SearchError(
            f"Escriba al menos una palabra de {MIN_WORD} letras o más de la dirección, "
            "por ejemplo «Los Andes» o «3056»."
        )
    return Query(kind, text, " ".join(words))


def grid_rows() -> QuerySet[Customer]:
    """What the grid and the CSV read of a customer."""
    return Customer.objects.select_related("comuna").only(
        "number", "rut", "name", "address", "is_eg", "comuna__name", "distributor_id"
    )


def search(query: Query) -> QuerySet[Customer]:
    """The customers matching `query`, in a stable order (customer number, then id)."""
    rows = grid_rows()
    if query.kind == "numero":
        rows = rows.filter(number=query.normalized)
    elif query.kind == "rut":
        rows = rows.filter(rut=query.normalized)
    else:
        rows = rows.alias(plain=Unaccent(F("address")))
        for word in query.normalized.split():
            # `contains` escapes % and _ of the word; the whole pattern is constant, so the
            # planner folds it and the trigram index applies.
            rows = rows.filter(plain__contains=Unaccent(Value(word)))
    return rows.order_by("number", "pk")


@dataclass(frozen=True)
class Page:
    rows: list[Customer]
    number: int
    has_next: bool
    count: int
    capped: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_of(rows: QuerySet[Customer], number: int) -> Page:
    """One page of results, among the first COUNT_CAP matches in customer-number order.

    The matches are read once, capped and unordered (what the trigram index gives cheaply),
    then ordered by number; ordering every match first would read all of them (20,000 for a
    common street name at national scale). Past COUNT_CAP the page says "más de 1.000" and
    asks for a narrower search.
    """
    candidates = list(rows.order_by().values_list("pk", "number")[: COUNT_CAP + 1])
    capped = len(candidates) > COUNT_CAP
    ordered = sorted(candidates[:COUNT_CAP], key=lambda row: (row[1], row[0]))
    start = (number - 1) * PAGE_SIZE
    ids = [pk for pk, _ in ordered[start : start + PAGE_SIZE]]
    # By primary key alone: with the search's conditions again the planner, misled by the
    # trigram estimates, reads every match through the trigram index to find these 25.
    found = {c.pk: c for c in grid_rows().filter(pk__in=ids)}
    return Page(
        [found[pk] for pk in ids if pk in found], number, start + PAGE_SIZE < len(ordered),
        len(ordered), capped,
    )  # fmt: skip
