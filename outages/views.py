"""Quality of supply pages for planners and SEC: the month's SAIFI / SAIDI, the outage events
(filtered, paginated) and one event with its interruptions. Each prints and saves as PDF."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from accounts.pages import PortalPage
from accounts.permissions import sees_quality_of_supply
from core.months import month_start, parse_month, today
from network.models import Feeder
from outages.models import Interruption, OutageEvent, ReliabilityIndex

PAGE_SIZE = 50


def _month(raw: str | None) -> date:
    try:
        return parse_month(raw or "")
    except ValueError:
        latest = ReliabilityIndex.objects.order_by("-month").values_list("month", flat=True).first()
        return latest or month_start(today())


class QualityPage(PortalPage):
    access_kind = "calidad"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not sees_quality_of_supply(request.user):
            raise PermissionDenied("Página para planificadores y auditores SEC.")
        return super().dispatch(request, *args, **kwargs)


class IndicesView(QualityPage):
    template_name = "outages/indices.html"
    pdf_name = "saidi-saifi"
    page_title = "Calidad de servicio: SAIDI y SAIFI"

    def reference(self) -> str:
        return f"índices {_month(self.request.GET.get('mes')):%Y-%m}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        month = _month(self.request.GET.get("mes"))
        rows = ReliabilityIndex.objects.filter(month=month)
        feeders = (
            rows.filter(level="feeder")
            .select_related("feeder__substation")
            .only("feeder__code", "feeder__name", "feeder__substation__name", *INDEX_FIELDS)
            .order_by("-saidi", "feeder__code")
        )
        comunas = (
            rows.filter(level="comuna")
            .select_related("comuna")
            .only("comuna__code", "comuna__name", *INDEX_FIELDS)
            .order_by("-saidi", "comuna__name")
        )
        context.update(
            month=month,
            min_minutes=settings.OUTAGES_MIN_MINUTES,
            distributors=rows.filter(level="distributor")
            .select_related("distributor")
            .only("distributor__name", *INDEX_FIELDS),
            feeders=Paginator(feeders, PAGE_SIZE).get_page(self.request.GET.get("pagina")),
            comunas=Paginator(comunas, PAGE_SIZE).get_page(self.request.GET.get("pagina_comunas")),
            as_of=rows.order_by("-computed_at").values_list("computed_at", flat=True).first(),
        )
        return context


INDEX_FIELDS = (
    "month",
    "level",
    "customers_served",
    "customer_interruptions",
    "customer_minutes",
    "open_interruptions",
    "saifi",
    "saidi",
    "computed_at",
)

PLANNED_FILTERS = {"si": Q(planned__isnull=False), "no": Q(planned__isnull=True)}


class EventListView(QualityPage):
    template_name = "outages/events.html"
    pdf_name = "eventos-de-interrupcion"
    page_title = "Eventos de interrupción"

    def reference(self) -> str:
        return f"eventos {_month(self.request.GET.get('mes')):%Y-%m}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        get = self.request.GET
        month = _month(get.get("mes"))
        events = (
            OutageEvent.objects.filter(month=month)
            .select_related("feeder", "transformer", "planned")
            .only(
                "kind",
                "started_at",
                "ended_at",
                "customers",
                "customer_minutes",
                "transformers",
                "silent_customers",
                "feeder__code",
                "feeder__name",
                "transformer__code",
                "planned__reason",
            )  # fmt: skip
        )
        kind = get.get("tipo", "")
        if kind in OutageEvent.Kind.values:
            events = events.filter(kind=kind)
        planned = get.get("programada", "")
        if planned in PLANNED_FILTERS:
            events = events.filter(PLANNED_FILTERS[planned])
        feeder = None
        if get.get("alimentador", "").isdigit():
            feeder = Feeder.objects.filter(pk=int(get["alimentador"])).only("code", "name").first()
            if feeder is None:
                context["error"] = f"No existe el alimentador {get['alimentador']}."
            else:
                events = events.filter(feeder=feeder)
        elif get.get("alimentador"):
            context["error"] = "El alimentador debe indicarse por su número interno."
        feeder_ids = OutageEvent.objects.filter(month=month).values("feeder_id").distinct()
        context.update(
            month=month,
            kind=kind,
            kinds=OutageEvent.Kind.choices,
            planned=planned,
            feeder=feeder,
            feeders=Feeder.objects.filter(pk__in=feeder_ids).only("code", "name").order_by("code"),
            events=Paginator(events.order_by("-started_at", "id"), PAGE_SIZE).get_page(
                get.get("pagina")
            ),
        )
        return context


class EventDetailView(QualityPage):
    template_name = "outages/event.html"
    pdf_name = "evento-de-interrupcion"
    page_title = "Evento de interrupción"

    def reference(self) -> str:
        return f"evento {self.kwargs['pk']}"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            event = get_object_or_404(
                OutageEvent.objects.select_related(
                    "feeder__substation", "transformer", "planned__created_by"
                ),
                pk=self.kwargs["pk"],
            )
        except OverflowError:
            raise Http404 from None
        interruptions = (
            Interruption.objects.filter(event=event)
            .select_related("customer", "transformer", "meter")
            .only(
                "started_at",
                "ended_at",
                "minutes",
                "source",
                "excluded",
                "customer__number",
                "transformer__code",
                "meter__serial",
            )  # fmt: skip
            .order_by("started_at", "customer__number", "id")
        )
        context.update(
            event=event,
            interruptions=Paginator(interruptions, PAGE_SIZE).get_page(
                self.request.GET.get("pagina")
            ),
            back=reverse("outages:events") + f"?mes={event.month:%Y-%m}",
            breadcrumb=[
                ("Eventos de interrupción", reverse("outages:events")),
                (f"Evento {event.pk}", ""),
            ],
        )
        return context
