"""Keep derived network data in step with topology edits made one row at a time (admin).

Bulk loads (seed, imports) do not send these signals; they call network.services.topology
themselves.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer
from network.services.topology import topology_changed

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
    topology_changed(feeders, area)
