"""The public profile's pages (SEC annex §2): location search, detail pages, searches.

Every page of network data needs a login, is written to the access log, and prints (IMPRIMIR)
and saves as PDF (GUARDAR, `?formato=pdf`) with the same content.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views import defaults
from django.views.generic import TemplateView

from accounts.pages import PortalPage, log_access
from accounts.permissions import sees_capacity_missing_data
from capacity.services import query as capacity
from core import pdf
from core.pagination import paginate
from demand.models import MonthlyDemand
from maps.drawing import map_context
from network.forms import (
    LEVELS,
    FeederAssetSearchForm,
    LocationForm,
    TransformerSearchForm,
    VnrSearchForm,
    options_for,
)
from network.models import (
    Feeder,
    Substation,
    Transformer,
    feeder_assets,
)
from portal import charts
from vnr.models import VnrCode

GRID_PAGE_SIZE = 20
CAPACITY_PAGE_SIZE = 20
CAPACITY_ORDERS = {"distancia": "distance", "disponible": "remaining", "placa": "plate"}
ASSET_PAGE_SIZE = 10
DEMAND_MONTHS = 12


def search_url(**levels) -> str:
    return f"{reverse('network:search')}?{urlencode({k: v for k, v in levels.items() if v})}"


def location_breadcrumb(region, comuna, substation=None, feeder=None) -> list[tuple[str, str]]:
    """REGIÓN › COMUNA › SUBESTACIÓN › ALIMENTADOR, each a link to the search at its level."""
    crumbs = [
        (region.name, search_url(region=region.code)),
        (comuna.name, search_url(region=region.code, comuna=comuna.code)),
    ]
    if substation:
        crumbs.append(
            (
                f"Subestación {substation.name}",
                search_url(region=region.code, comuna=comuna.code, subestacion=substation.pk),
            )
        )
    if feeder:
        crumbs.append(
            (
                f"Alimentador {feeder.name}",
                search_url(
                    region=region.code,
                    comuna=comuna.code,
                    subestacion=substation.pk,
                    alimentador=feeder.pk,
                ),
            )
        )
    return crumbs


def url_of(name: str):
    """A function from a primary key to the URL of the `name` view: one reverse() per grid,
    not per row (a feeder grid links a hundred transformers)."""
    marker = "2147483647"
    pattern = reverse(name, args=[int(marker)])
    head, tail = pattern.rsplit(marker, 1)
    return lambda pk: f"{head}{pk}{tail}"


def without_boundaries(path: str) -> list[str]:
    """The comuna and región boundaries under `path`: megabytes no page needs (assets say
    `with_place()`; a feeder is not one)."""
    return [f"{path}comuna__boundary", f"{path}comuna__region__boundary"]


def feeder_mva(feeder: Feeder) -> float:
    """The feeder's capacity in A as apparent power at its nominal voltage (√3·U·I)."""
    return 3**0.5 * float(feeder.nominal_voltage_kv) * feeder.capacity_a / 1000


def last_demands(**asset) -> list[MonthlyDemand]:
    return list(MonthlyDemand.objects.filter(**asset).order_by("-month")[:DEMAND_MONTHS])


class LandingView(TemplateView):
    template_name = "portal/landing.html"


class LocationSearchView(PortalPage):
    """BUSCAR UBICACIÓN and the grid of the deepest level chosen (annex §2.3 figs. 5-13)."""

    template_name = "portal/search.html"
    access_kind = "busqueda"
    pdf_name = "busqueda-ubicacion"
    page_title = "Buscar ubicación"

    def reference(self) -> str:
        return self.request.GET.urlencode()[:200]

    def get(self, request, *args, **kwargs):
        submitted = any(request.GET.get(level) for level in LEVELS)
        form = LocationForm(request.GET if submitted else None)
        if submitted and form.is_valid() and form.deepest == "transformador":
            transformer = form.cleaned_data["transformador"]
            return redirect("network:transformer", pk=transformer.pk)
        context = self.get_context_data(form=form, submitted=submitted)
        if submitted and form.is_valid():
            context.update(self.grid(form))
        return self.render_to_response(context)

    def grid(self, form: LocationForm) -> dict:
        # The grid is the list of the level below the deepest chosen: the cascade read it.
        data, cascade = form.cleaned_data, form.cascade
        region, comuna = data["region"], data["comuna"]
        substation, feeder = data["subestacion"], data["alimentador"]
        breadcrumb = location_breadcrumb(region, comuna, substation, feeder)
        where = {"region": region, "comuna": comuna}
        levels = {"region": region.code, "comuna": comuna.code}
        if feeder:
            page = paginate(self.request, cascade.transformers, GRID_PAGE_SIZE)
            transformer_url = url_of("network:transformer")
            rows = [
                {"code": t.code, "name": t.name, "url": transformer_url(t.pk)}
                for t in page.object_list
            ]
            return {
                "level": "alimentador",
                "page": page,
                "rows": rows,
                "breadcrumb": breadcrumb,
                "feeder": feeder,
                "data_as_of": feeder.as_of,
                **where,
            }
        if substation:
            page = paginate(self.request, cascade.feeders, GRID_PAGE_SIZE)
            feeder_url, transformer_url = url_of("network:feeder"), url_of("network:transformer")
            rows = [
                {
                    "code": f.code,
                    "name": f.name,
                    "subfeeder": f.kind == Feeder.Kind.SUBFEEDER,
                    "url": feeder_url(f.pk),
                    "transformers": [(transformer_url(i), c) for i, c in f.first_transformers],
                    "count": f.transformer_count,
                    "more": f.transformer_count > len(f.first_transformers),
                    "grid_url": "?"
                    + urlencode({**levels, "subestacion": substation.pk, "alimentador": f.pk}),
                }
                for f in page.object_list
            ]
            return {
                "level": "subestacion",
                "page": page,
                "rows": rows,
                "breadcrumb": breadcrumb,
                "substation": substation,
                "data_as_of": substation.as_of,
                **where,
            }
        substations = sorted(cascade.substations, key=lambda s: (s.code, s.pk))
        page = paginate(self.request, substations, GRID_PAGE_SIZE)
        substation_url = url_of("network:substation")
        rows = [
            {
                "code": s.code,
                "name": s.name,
                "url": substation_url(s.pk),
                "grid_url": "?" + urlencode({**levels, "subestacion": s.pk}),
            }
            for s in page.object_list
        ]
        return {
            "level": "comuna",
            "page": page,
            "rows": rows,
            "breadcrumb": breadcrumb,
            "data_as_of": max((s.as_of for s in page.object_list if s.as_of), default=None),
            **where,
        }


def cascade_options(request: HttpRequest, level: str) -> HttpResponse:
    """The choices of one level of the cascade, for the script that fills the next list."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Debe ingresar para consultar la red."}, status=401)
    if level not in LEVELS[1:]:
        return JsonResponse({"error": f"Nivel desconocido: {level[:30]}"}, status=404)
    parent = request.GET.get("parent", "")
    if len(parent) > 30 or not parent.replace("-", "").isalnum():
        return JsonResponse({"error": "Valor de búsqueda no válido."}, status=400)
    options = [{"value": v, "label": label} for v, label in options_for(level, parent)]
    log_access(request, "busqueda", f"lista {level} de {parent}")
    return JsonResponse({"level": level, "options": options})


class SubstationDetailView(PortalPage):
    template_name = "portal/substation_detail.html"
    access_kind = "subestacion"

    def reference(self) -> str:
        return self.substation.code

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        substation = get_object_or_404(
            Substation.objects.with_place().select_related("distributor"),
            pk=kwargs["pk"],
        )
        self.substation = substation
        feeders = list(substation.feeders.order_by("name"))
        transformers = (
            Transformer.objects.filter(feeder__substation=substation)
            .order_by("code")
            .values_list("pk", "code", "name")
        )
        context.update(
            substation=substation,
            power_transformers=list(substation.power_transformers.order_by("code")),
            feeders=feeders,
            transformers=list(transformers),
            breadcrumb=[
                *location_breadcrumb(substation.comuna.region, substation.comuna),
                (f"Subestación {substation.name}", ""),
            ],
            data_as_of=substation.as_of,
            pdf_name=f"subestacion-{substation.code}",
            **map_context(
                "substation_layers",
                substation,
                pdf.wants_pdf(self.request),
                title=f"Subestación {substation.name}",
            ),
        )
        return context


class FeederDetailView(PortalPage):
    template_name = "portal/feeder_detail.html"
    access_kind = "alimentador"

    def reference(self) -> str:
        return self.feeder.code

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        feeder = get_object_or_404(
            Feeder.objects.select_related(
                "substation__comuna__region", "distributor", "owner", "purchase_node"
            ).defer(*without_boundaries("substation__")),
            pk=kwargs["pk"],
        )
        self.feeder = feeder
        substation = feeder.substation
        context.update(
            feeder=feeder,
            substation=substation,
            demands=last_demands(feeder=feeder),
            transformers=list(
                feeder.transformers.order_by("code").values_list("pk", "code", "name")
            ),
            breadcrumb=[
                *location_breadcrumb(substation.comuna.region, substation.comuna, substation),
                (f"Alimentador {feeder.name}", ""),
            ],
            data_as_of=feeder.as_of,
            pdf_name=f"alimentador-{feeder.code}",
            capacity_mva=feeder_mva(feeder),
            **self.capacity(feeder),
            **self.asset_search(feeder),
            **map_context("feeder_layers", feeder, pdf.wants_pdf(self.request), title=str(feeder)),
        )
        return context

    def capacity(self, feeder: Feeder) -> dict:
        """The feeder's short circuit and indicative capacity: summary, profile, pole table
        (paginated; the downloads have every row), connection queue, freshness."""
        view = capacity.feeder_view(feeder)
        order = self.request.GET.get("orden_capacidad", "distancia")
        order = order if order in CAPACITY_ORDERS else "distancia"
        rows = capacity.pole_rows(feeder, CAPACITY_ORDERS[order])
        page = paginate(self.request, rows, CAPACITY_PAGE_SIZE, param="pagina_capacidad")
        profile = charts.capacity_profile(capacity.profile_points(feeder)) if view.ok else ""
        return {
            "cap": view,
            "cap_page": page,
            "cap_order": order,
            "cap_orders": CAPACITY_ORDERS,
            "cap_profile": profile,
            "cap_freshness": capacity.freshness(),
            "cap_sees_missing": sees_capacity_missing_data(self.request.user),
            "cap_classes": capacity.CLASSES,
        }

    def asset_search(self, feeder: Feeder) -> dict:
        """Poles, spans or equipment of this feeder by id (annex §2.3 fig. 11)."""
        params = self.request.GET
        if "tipo" not in params:
            return {"asset_form": FeederAssetSearchForm()}
        form = FeederAssetSearchForm(params)
        if not form.is_valid():
            return {"asset_form": form}
        kind, term = form.cleaned_data["tipo"], form.cleaned_data["id"].strip()
        rows = feeder_assets(feeder, kind, term)
        page = paginate(self.request, rows, ASSET_PAGE_SIZE, param="pagina_activo")
        if kind == "equipo":
            for equipment in page.object_list:
                equipment.history = equipment.history[:DEMAND_MONTHS]
        if kind == "poste":
            # Each pole found with its short circuit and indicative capacity.
            found = capacity.pole_rows().filter(pole__in=[p.pk for p in page.object_list])
            by_pole = {row.pole_id: row for row in found}
            for pole in page.object_list:
                pole.cap = by_pole.get(pole.pk)
        return {"asset_form": form, "asset_kind": kind, "asset_term": term, "asset_page": page}


class TransformerDetailView(PortalPage):
    template_name = "portal/transformer_detail.html"
    access_kind = "transformador"

    def reference(self) -> str:
        return self.transformer.code

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        transformer = get_object_or_404(
            Transformer.objects.with_place().select_related("pole", "vnr"),
            pk=kwargs["pk"],
        )
        self.transformer = transformer
        feeder = transformer.feeder
        context.update(
            transformer=transformer,
            feeder=feeder,
            substation=feeder.substation,
            demands=last_demands(transformer=transformer) if transformer.smmc else [],
            breadcrumb=[
                *location_breadcrumb(
                    feeder.substation.comuna.region,
                    feeder.substation.comuna,
                    feeder.substation,
                    feeder,
                ),
                (f"Transformador {transformer.code}", ""),
            ],
            data_as_of=transformer.as_of,
            pdf_name=f"transformador-{transformer.code}",
            cap_pole=capacity.pole_capacity(transformer.pole_id),
            cap_state=capacity.feeder_state(feeder),
            cap_freshness=capacity.freshness(),
            cap_sees_missing=sees_capacity_missing_data(self.request.user),
            **map_context(
                "transformer_layers",
                transformer,
                pdf.wants_pdf(self.request),
                title=str(transformer),
            ),
        )
        return context


class TransformerSearchView(PortalPage):
    """Simple transformer search (annex §2.4): never reveals who the customer is."""

    template_name = "portal/transformer_search.html"
    access_kind = "busqueda"
    pdf_name = "busqueda-transformador"
    page_title = "Buscar transformador"

    def reference(self) -> str:
        return self.request.GET.urlencode()[:200]

    def get(self, request, *args, **kwargs):
        submitted = any(k in request.GET for k in TransformerSearchForm.base_fields)
        form = TransformerSearchForm(request.GET if submitted else None)
        context = self.get_context_data(form=form, submitted=submitted)
        status = 200
        if submitted and form.is_valid():
            results = self.find(form.cleaned_data)
            context["results"] = [
                {
                    "transformer": t,
                    "feeder": t.feeder,
                    "substation": t.feeder.substation,
                    "demands": last_demands(transformer=t) if t.smmc else [],
                }
                for t in results
            ]
            if results:
                context["data_as_of"] = max(t.as_of for t in results)
                context["breadcrumb"] = [("Buscar transformador", ""), (results[0].code, "")]
            else:
                context["not_found"] = self.not_found_message(form.cleaned_data)
                status = 404
        response = self.render_to_response(context)
        if not pdf.wants_pdf(request):
            response.status_code = status
        return response

    @staticmethod
    def find(data: dict) -> list[Transformer]:
        transformers = (
            Transformer.objects.with_place()
            .select_related("pole", "vnr")
            .order_by("distributor_id", "code")
        )
        if data["placa_transformador"]:
            plate = data["placa_transformador"].upper()
            return list(transformers.filter(plate=plate))
        if data["placa_poste"]:
            return list(transformers.filter(pole__plate=data["placa_poste"].upper()))
        # Only the transformer of the service point: nothing about the customer leaves here.
        return list(transformers.serving(data["cliente"]))

    @staticmethod
    def not_found_message(data: dict) -> str:
        if data["placa_transformador"]:
            return f"No se encontró el transformador de placa {data['placa_transformador']}."
        if data["placa_poste"]:
            return f"No se encontró un transformador en el poste {data['placa_poste']}."
        return f"No se encontró el cliente número {data['cliente']}."


class VnrSearchView(PortalPage):
    """VNR code search (annex §2.5, figs. 17-18)."""

    template_name = "portal/vnr.html"
    access_kind = "vnr"
    pdf_name = "codigo-vnr"
    page_title = "Código VNR"

    def reference(self) -> str:
        return self.request.GET.get("codigo", "")[:30]

    def get(self, request, *args, **kwargs):
        submitted = "codigo" in request.GET
        form = VnrSearchForm(request.GET if submitted else None)
        context = self.get_context_data(form=form, submitted=submitted)
        status = 200
        if submitted and form.is_valid():
            code = form.cleaned_data["codigo"].strip()
            vnr = VnrCode.objects.filter(code__iexact=code).first()
            if vnr:
                context.update(vnr=vnr, data_as_of=vnr.as_of, pdf_name=f"vnr-{vnr.code}")
                context["breadcrumb"] = [("Código VNR", reverse("network:vnr")), (vnr.code, "")]
            else:
                context["not_found"] = f"No se encontró el código VNR {code}."
                status = 404
        response = self.render_to_response(context)
        if not pdf.wants_pdf(request):
            response.status_code = status
        return response


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404: the site's page, or for a path under /api/ that names no operation (an id that is
    not a number, a misspelt list) the API's own JSON error, as its schema documents."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "No existe esa dirección de la API."}, status=404)
    return defaults.page_not_found(request, exception)
