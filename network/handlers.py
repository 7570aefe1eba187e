"""The network app's receivers.

- Model signals: a topology edit made one row at a time (admin) is announced as a topology
  change. Bulk loads (seed, imports) send no model signals; they call
  network.services.topology themselves.
- network.signals: the feeders' generalised outlines follow every topology change. This app is
  installed before the apps that draw the network, so the outlines are new when their
  receivers run.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer
from network.services.outline import refresh_outlines
from network.services.topology import announce_change
from network.signals import network_replaced, topology_changed

FEEDER_ASSETS = (Span, Pole, Equipment, Transformer)
GEOMETRY = {Span: "geom", Pole: "location", Equipment: "location", Transformer: "location"}


def _box(geometry) -> tuple[float, float, float, float] | None:
    return None if geometry is None else geometry.extent


@receiver(pre_save)
def remember_previous_state(sender, instance, **kwargs) -> None:
    if sender not in FEEDER_ASSETS or not instance.pk:
        return
    field = GEOMETRY[sender]
    previous = sender.objects.filter(pk=instance.pk).values_list("feeder_id", field).first()
    instance._previous = previous


@receiver(post_save)
@receiver(post_delete)
def asset_changed(sender, instance, **kwargs) -> None:
    if sender in FEEDER_ASSETS:
        feeders = {instance.feeder_id}
        boxes = [_box(getattr(instance, GEOMETRY[sender]))]
        previous = getattr(instance, "_previous", None)
        if previous:
            feeders.add(previous[0])
            boxes.append(_box(previous[1]))
    elif sender is Feeder:
        feeders, boxes = {instance.pk}, []
    elif sender is Substation:
        feeders = set(Feeder.objects.filter(substation=instance).values_list("pk", flat=True))
        boxes = [_box(instance.location)]
    else:
        return
    area = None
    for box in boxes:
        if box is not None:
            area = (
                box
                if area is None
                else (
                    min(area[0], box[0]),
                    min(area[1], box[1]),
                    max(area[2], box[2]),
                    max(area[3], box[3]),
                )
            )
    announce_change(feeders, area)


@receiver(topology_changed)
def refresh_changed_outlines(sender, feeder_ids, **kwargs) -> None:
    if feeder_ids:
        refresh_outlines(feeder_ids)


@receiver(network_replaced)
def refresh_every_outline(sender, **kwargs) -> None:
    refresh_outlines()
