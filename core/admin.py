"""Admin pieces every app's admin shares: huge-table lists and the month filter."""

from __future__ import annotations

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.functional import cached_property

from core.months import last_months


class EstimatedCountPaginator(Paginator):
    """An unfiltered list of a huge table takes PostgreSQL's row estimate, not a COUNT(*).

    Otherwise every page of the poles' changelist would scan 2,000,000 rows to count them; a
    filtered or searched list is narrower and is counted exactly.
    """

    exact_below = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is not None and not query.where and not query.is_sliced:
            estimate = estimated_rows(queryset.db, queryset.model._meta.db_table)
            if estimate > 0 and estimate >= self.exact_below:
                return estimate
        return super().count


def estimated_rows(alias: str, table: str) -> int:
    """PostgreSQL's estimate of a table's rows (-1 or 0 until it has been analysed)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table]
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else -1


class LargeTableMixin:
    """For tables of the national data set: no full counts, no facet counts, short pages."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50
    # Plates and codes are searched by prefix, as typed or upper-cased, on their own
    # (varchar_pattern_ops) index; a case-insensitive LIKE would scan millions of rows.
    identifier_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not self.identifier_fields or not term:
            return super().get_search_results(request, queryset, search_term)
        query = Q()
        for name in self.identifier_fields:
            for variant in dict.fromkeys((term, term.upper())):
                query |= Q(**{f"{name}__startswith": variant})
        for name in self.search_fields:
            if name.lstrip("^=@") not in self.identifier_fields:
                query |= Q(**{f"{name}__icontains": term})
        return queryset.filter(query), False


class MonthFilter(admin.SimpleListFilter):
    # The choices come from the calendar: listing the distinct months would scan every row.
    title = "mes"
    parameter_name = "month"

    def lookups(self, request, model_admin):
        return [(m.isoformat(), date_format(m, "F Y")) for m in last_months(24)]

    def queryset(self, request, queryset):
        return queryset.filter(month=self.value()) if self.value() else queryset
