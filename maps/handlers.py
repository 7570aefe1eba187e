"""The maps app's receivers of network.signals: the cached tiles and the KMZ plans follow the
topology (the style of openwisp-controller, which keeps signals.py beside handlers.py); and of
capacity.signals: the capacity layer's cached tiles follow the stored results."""

from __future__ import annotations

from django.conf import settings
from django.dispatch import receiver

from capacity.signals import capacity_stored
from maps.tasks import regenerate_later
from maps.tiles.cache import invalidate_area, layers_holding
from maps.tiles.services import poles_extent
from network import layers as registry
from network.services.topology import WORLD, feeders_extent, union
from network.signals import network_replaced, topology_changed


@receiver(topology_changed, dispatch_uid="maps.drop_changed_tiles")
def drop_changed_tiles(sender, feeder_ids, area, **kwargs) -> None:
    # network's receiver has already redrawn the outlines: the new extent is theirs.
    area = union(area, feeders_extent(feeder_ids))
    if area is not None:
        invalidate_area(area)


@receiver(topology_changed, dispatch_uid="maps.replan_changed_feeders")
def replan_changed_feeders(sender, feeder_ids, **kwargs) -> None:
    regenerate_later(feeder_ids)


@receiver(network_replaced, dispatch_uid="maps.drop_every_tile")
def drop_every_tile(sender, **kwargs) -> None:
    invalidate_area(WORLD)


@receiver(network_replaced, dispatch_uid="maps.drop_every_plan")
def drop_every_plan(sender, **kwargs) -> None:
    # Deleted rather than rebuilt: thousands of feeders would take minutes, and the download
    # builds a missing plan on demand (`export_kmz --all` builds them all).
    for path in settings.KMZ_DIR.glob("*.kmz"):
        path.unlink(missing_ok=True)


@receiver(capacity_stored, dispatch_uid="maps.drop_capacity_tiles")
def drop_capacity_tiles(sender, feeder_ids, **kwargs) -> None:
    """Only the tiles that draw capacity, over the feeders' lines and poles (a feeder's poles
    are on its spans, but a feeder without spans has no outline)."""
    ids = frozenset(feeder_ids)
    area = union(feeders_extent(ids), poles_extent(ids))
    if area is not None:
        invalidate_area(
            area,
            layers=layers_holding(registry.CAPACITY.code),
            min_zoom=registry.CAPACITY.min_zoom,
        )
