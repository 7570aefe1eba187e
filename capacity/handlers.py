"""The capacity app's receivers of network.signals: a topology change marks the feeders'
results stale at once and recomputes their substations once the change commits; the nightly
catch-up (capacity.tasks.catch_up) picks up whatever a failed or lost recompute left."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from capacity.tasks import mark_stale, recompute_later
from network.models import ConductorType, Feeder, PowerTransformer, Span
from network.signals import network_replaced, topology_changed


@receiver(topology_changed, dispatch_uid="capacity.recompute_changed_feeders")
def recompute_changed_feeders(sender, feeder_ids, **kwargs) -> None:
    mark_stale(feeder_ids)
    recompute_later(feeder_ids)


@receiver(network_replaced, dispatch_uid="capacity.mark_everything_stale")
def mark_everything_stale(sender, **kwargs) -> None:
    from capacity.models import FeederCapacity

    FeederCapacity.objects.update(stale=True)


@receiver(post_save, sender=ConductorType, dispatch_uid="capacity.conductor_type_edited")
def conductor_type_edited(sender, instance, created, **kwargs) -> None:
    """A catalogue edit (admin) changes every feeder with a span of that type."""
    if created:
        return
    feeders = Span.objects.filter(conductor_type=instance).values_list("feeder_id", flat=True)
    ids = set(feeders.distinct().order_by())
    mark_stale(ids)
    recompute_later(ids, trigger=f"tipo de conductor {instance.code} modificado")


@receiver(post_save, sender=PowerTransformer, dispatch_uid="capacity.power_transformer_edited")
def power_transformer_edited(sender, instance, **kwargs) -> None:
    """The AT/MT transformers' rating limits the reverse flow of the substation's feeders."""
    ids = set(
        Feeder.objects.filter(substation_id=instance.substation_id).values_list("pk", flat=True)
    )
    mark_stale(ids)
    recompute_later(ids, trigger=f"transformador de poder {instance.code} modificado")
