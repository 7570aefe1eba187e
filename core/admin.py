"""Admin pieces every app's admin shares (huge-table lists, the month filter) and the admin of
the imports planners run from the browser (core.ImportJob)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property

from core import jobs, tasks
from core.models import ImportJob
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


# --- Imports from the browser (core.ImportJob) ---------------------------------------------

REPORT_ROWS_SHOWN = 200


class ImportJobForm(forms.ModelForm):
    kind = forms.ChoiceField(label="Tipo")

    class Meta:
        model = ImportJob
        fields = ["kind", "file"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = {kind.code: kind for kind in jobs.kinds_for(user)}
        self.fields["kind"].choices = [(code, kind.label) for code, kind in self.kinds.items()]
        self.fields["file"].help_text = "; ".join(
            f"{kind.label}: {kind.help}" for kind in self.kinds.values() if kind.help
        )
        # Each kind's options, named "<kind>__<option>"; only the chosen kind's are read.
        for code, kind in self.kinds.items():
            for name, field in kind.option_fields().items():
                field.required = False
                field.label = f"{field.label} ({kind.label})"
                self.fields[f"{code}__{name}"] = field

    def clean(self):
        data = super().clean()
        kind = self.kinds.get(data.get("kind"))
        upload = data.get("file")
        if kind is None:
            return data
        if upload is not None:
            name = upload.name.lower()
            if not name.endswith(kind.extensions):
                self.add_error(
                    "file",
                    f"{upload.name}: para «{kind.label}» se aceptan archivos "
                    f"{', '.join(kind.extensions)}.",
                )
            if upload.size > settings.IMPORT_UPLOAD_MAX_MB * 2**20:
                self.add_error("file", f"El archivo pasa de {settings.IMPORT_UPLOAD_MAX_MB} MB.")
        options = {}
        for name, field in kind.option_fields().items():
            value = data.get(f"{kind.code}__{name}")
            if field.required and value in (None, ""):
                self.add_error(f"{kind.code}__{name}", "Este campo es obligatorio.")
            options[name] = value
        self.instance.options = options
        return data


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Upload, read the dry run's report, apply: the planner's imports without a console."""

    list_display = ["created_at", "kind_label", "file_name", "status", "summary_start",
                    "created_by"]  # fmt: skip
    list_filter = ["status", "kind"]
    ordering = ["-created_at"]
    change_form_template = "admin/core/importjob/change_form.html"

    @admin.display(description="tipo", ordering="kind")
    def kind_label(self, job: ImportJob) -> str:
        kind = jobs.KINDS.get(job.kind)
        return kind.label if kind else job.kind

    @admin.display(description="archivo")
    def file_name(self, job: ImportJob) -> str:
        return job.file.name.rsplit("/", 1)[-1]

    @admin.display(description="resumen")
    def summary_start(self, job: ImportJob) -> str:
        return job.summary if len(job.summary) <= 120 else job.summary[:117] + "…"

    def get_queryset(self, request):
        codes = [kind.code for kind in jobs.kinds_for(request.user)]
        return super().get_queryset(request).filter(kind__in=codes).select_related("created_by")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and bool(jobs.kinds_for(request.user))

    def has_delete_permission(self, request, obj=None):
        return False  # the record of what was imported, by whom, stays

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        user = request.user

        class Form(ImportJobForm):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=user, **kw)

        return Form

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(self.get_form(request)(None).fields)
        return ["kind_label", "file_name", "status", "created_by", "created_at", "checked_at",
                "applied_at"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return
        obj.created_by = request.user
        obj.status = ImportJob.Status.CHECKING
        super().save_model(request, obj, form, change)
        job_id = obj.pk
        # After the admin's transaction: the task (a worker, or this process without a broker)
        # must see the job and its file.
        transaction.on_commit(lambda: tasks.check_import.delay(job_id))

    def response_add(self, request, obj, post_url_continue=None):
        return redirect(reverse("admin:core_importjob_change", args=[obj.pk]))

    def get_urls(self):
        own = [
            path(
                "<int:pk>/aplicar/",
                self.admin_site.admin_view(self.apply_view),
                name="core_importjob_apply",
            ),
            path(
                "<int:pk>/informe.csv",
                self.admin_site.admin_view(self.report_view),
                name="core_importjob_report",
            ),
            path(
                "<int:pk>/estado/",
                self.admin_site.admin_view(self.status_view),
                name="core_importjob_status",
            ),
        ]
        return own + super().get_urls()

    def _job(self, request, pk: int) -> ImportJob:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def apply_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._job(request, pk)
        if not self.has_change_permission(request, job):
            raise PermissionDenied
        with transaction.atomic():
            # One application per job, even with two clicks or two planners.
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.status != ImportJob.Status.CHECKED:
                self.message_user(
                    request,
                    f"No se aplicó: la importación está «{locked.get_status_display()}».",
                    messages.ERROR,
                )
                return redirect(reverse("admin:core_importjob_change", args=[pk]))
            locked.status = ImportJob.Status.APPLYING
            locked.started_at = timezone.now()
            locked.save(update_fields=["status", "started_at"])
            transaction.on_commit(lambda: tasks.apply_import.delay(pk))
        return redirect(reverse("admin:core_importjob_change", args=[pk]))

    def report_view(self, request, pk: int):
        job = self._job(request, pk)
        if not job.report:
            raise Http404("Sin informe todavía.")
        name = f"informe_importacion_{job.pk}.csv"
        return FileResponse(open(job.report, "rb"), as_attachment=True, filename=name)

    def status_view(self, request, pk: int):
        job = self._job(request, pk)
        progress = jobs.read_progress(job) if job.running else None
        return JsonResponse(
            {
                "status": job.status,
                "label": job.get_status_display(),
                "running": job.running,
                "fraction": progress["fraction"] if progress else None,
                "what": progress["what"] if progress else "",
            }
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # One way on from the upload: to the job's page, where the check's report appears.
        context.update(show_save_and_add_another=False, show_save_and_continue=False)
        if obj is not None:
            header, rows, total = jobs.read_report(obj.report, REPORT_ROWS_SHOWN)
            context.update(
                job=obj,
                progress=jobs.read_progress(obj) if obj.running else None,
                report_header=header,
                report_rows=rows,
                report_total=total,
                can_apply=obj.status == ImportJob.Status.CHECKED
                and self.has_change_permission(request, obj),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)
