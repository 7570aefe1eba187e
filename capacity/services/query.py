"""What the pages, the API and the downloads read of the capacity results.

Every value carries the run that computed it (id and date) and whether its feeder is stale,
so no page shows a number without saying when and by which run it was computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from capacity.models import ConnectionRequest, FeederCapacity, PoleCapacity, Run
from network.models import Customer, Feeder

# Classes of the available capacity (MW) on the map and in the tables.
CLASSES = (
    ("baja", "Menos de 1 MW", 0.0, 1.0),
    ("media", "De 1 a 3 MW", 1.0, 3.0),
    ("alta", "3 MW o más", 3.0, None),
)


def capacity_class(mw: float | None) -> str | None:
    if mw is None:
        return None
    for code, _label, low, high in CLASSES:
        if mw >= low and (high is None or mw < high):
            return code
    return None


@dataclass
class Freshness:
    """The state of the computation that the pages' banner and the planners' alarm show."""

    last_done: Run | None
    last: Run | None
    late: bool
    failed: bool
    stale_feeders: int

    @property
    def alarm(self) -> str | None:
        if self.failed:
            return (
                f"El cálculo de capacidad {self.last.pk} del "
                f"{timezone.localtime(self.last.started_at):%d/%m/%Y %H:%M} falló: "
                f"{self.last.error or 'sin detalle'}."
            )
        if self.late:
            when = "no se ha terminado ninguno"
            if self.last_done:
                ended = timezone.localtime(self.last_done.finished_at)
                when = f"el último terminó el {ended:%d/%m/%Y %H:%M}"
            return (
                f"El cálculo de capacidad está atrasado: {when}, y debe correr al menos cada "
                f"{settings.CAPACITY_MAX_AGE_HOURS} horas."
            )
        return None


def freshness(now: datetime | None = None) -> Freshness:
    now = now or timezone.now()
    last = Run.objects.order_by("-started_at", "-pk").first()
    last_done = Run.objects.filter(status=Run.Status.DONE).order_by("-finished_at").first()
    age = timedelta(hours=settings.CAPACITY_MAX_AGE_HOURS)
    stale = FeederCapacity.objects.filter(stale=True).count()
    late = (last_done is None and FeederCapacity.objects.exists()) or (
        last_done is not None
        and last_done.finished_at is not None
        and now - last_done.finished_at > age
    )
    # A run still going after the maximum age is as late as one that never ended.
    if last and last.status == Run.Status.RUNNING and now - last.started_at > age:
        late = True
    failed = bool(last and last.status == Run.Status.FAILED)
    return Freshness(last_done, last, late, failed, stale)


@dataclass
class FeederView:
    state: FeederCapacity | None
    run: Run | None
    poles: int = 0
    hosting_min: float | None = None
    hosting_max: float | None = None
    remaining_max: float | None = None
    classes: dict[str, int] = field(default_factory=dict)
    connected_eg_mw: float = 0.0
    connected_pmgd_mw: float = 0.0
    queued_mw: float = 0.0
    requests: list[ConnectionRequest] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.state and self.state.status == FeederCapacity.Status.OK)

    @property
    def connected_mw(self) -> float:
        return self.connected_eg_mw + self.connected_pmgd_mw


def feeder_state(feeder: Feeder) -> FeederCapacity | None:
    """The feeder's state in the computation (its run with it), without the summary."""
    return FeederCapacity.objects.select_related("run").filter(feeder=feeder).first()


def feeder_view(feeder: Feeder) -> FeederView:
    state = feeder_state(feeder)
    view = FeederView(state=state, run=state.run if state else None)
    rows = PoleCapacity.objects.filter(feeder=feeder)
    stats = rows.aggregate(
        n=Count("pk"), hmin=Min("hosting_mw"), hmax=Max("hosting_mw"), rmax=Max("remaining_mw"),
        **{
            code: Count("pk", filter=Q(remaining_mw__gte=low) & (Q(remaining_mw__lt=high)
                                                              if high is not None else Q()))
            for code, _label, low, high in CLASSES
        },
    )  # fmt: skip
    view.poles = stats["n"]
    view.hosting_min, view.hosting_max, view.remaining_max = (
        stats["hmin"], stats["hmax"], stats["rmax"]
    )  # fmt: skip
    view.classes = {code: stats[code] for code, *_ in CLASSES}
    eg = Customer.objects.filter(transformer__feeder=feeder, is_eg=True).aggregate(
        kw=Sum("eg_capacity_kw")
    )["kw"]
    view.connected_eg_mw = float(eg or 0) / 1000
    view.requests = list(
        ConnectionRequest.objects.filter(feeder=feeder)
        .select_related("pole")
        .order_by("submitted_on", "public_id")
    )
    for r in view.requests:
        if r.state == ConnectionRequest.State.CONNECTED:
            view.connected_pmgd_mw += float(r.mw)
        elif r.state in ConnectionRequest.QUEUED:
            view.queued_mw += float(r.mw)
    return view


def profile_points(feeder: Feeder, limit: int = 4000) -> list[tuple[float, float, float, float]]:
    """(distance km, hosting MW, remaining MW, Scc MVA) of the feeder's poles by distance;
    thinned evenly to at most `limit` points for a long feeder."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT distance_km, hosting_mw, remaining_mw, scc_mva FROM (
                SELECT distance_km, hosting_mw, remaining_mw, scc_mva,
                       row_number() OVER (ORDER BY distance_km, pole_id) AS n,
                       count(*) OVER () AS total
                  FROM capacity_polecapacity WHERE feeder_id = %s
            ) r
             WHERE total <= %s OR n %% ceil(total::float / %s)::int = 0
             ORDER BY distance_km
            """,
            [feeder.pk, limit, limit],
        )
        return cur.fetchall()


def pole_rows(feeder: Feeder | None = None, order: str = "distance"):
    """PoleCapacity rows with what a table row shows (pole plate, run date)."""
    rows = PoleCapacity.objects.select_related("pole", "run", "feeder")
    if feeder is not None:
        rows = rows.filter(feeder=feeder)
    orders = {
        "distance": ("distance_km", "pole_id"),
        "remaining": ("-remaining_mw", "pole_id"),
        "plate": ("pole__plate",),
    }
    return rows.order_by(*orders.get(order, orders["distance"]))


def pole_capacity(pole_id: int | None) -> PoleCapacity | None:
    if pole_id is None:
        return None
    return PoleCapacity.objects.select_related("run", "pole").filter(pole_id=pole_id).first()
