"""What the demand response API shows of programs, events, device states and messages.
Customers by their customer number only."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from metering.models import DrEvent, DrEventTarget, DrMessage, DrProgram
from metering.services.dr import DUPLICATE


class ProgramSerializer(serializers.ModelSerializer):
    """Programa CPP o DLC con sus precios y la cantidad de clientes inscritos hoy."""

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    enrolled_customers = serializers.IntegerField(read_only=True)

    class Meta:
        model = DrProgram
        fields = [
            "code",
            "name",
            "kind",
            "kind_label",
            "tariff",
            "base_price_clp_kwh",
            "critical_price_clp_kwh",
            "incentive_clp_kwh",
            "enrolled_customers",
            "as_of",
        ]


class StateCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    sent = serializers.IntegerField()
    acknowledged = serializers.IntegerField()
    opted_in = serializers.IntegerField()
    opted_out = serializers.IntegerField()


class EventSerializer(serializers.ModelSerializer):
    """Evento DR: programa, señal, periodo y cuántos dispositivos hay en cada estado."""

    program = serializers.CharField(source="program.code", read_only=True)
    signal_label = serializers.CharField(source="get_signal_display", read_only=True)
    devices = serializers.SerializerMethodField()

    class Meta:
        model = DrEvent
        fields = [
            "correlation_id",
            "mrid",
            "program",
            "signal",
            "signal_label",
            "starts_at",
            "ends_at",
            "level",
            "mandatory",
            "price_clp_kwh",
            "reason",
            "issued_at",
            "canceled_at",
            "devices",
        ]

    @extend_schema_field(StateCountsSerializer)
    def get_devices(self, event) -> dict:
        return {name: getattr(event, f"n_{name}") for name in STATES}


STATES = ("total", "sent", "acknowledged", "opted_in", "opted_out")


def with_state_counts(events: QuerySet) -> QuerySet:
    counts = {"n_total": Count("targets")}
    for state in STATES[1:]:
        counts[f"n_{state}"] = Count("targets", filter=Q(targets__state=state))
    return events.annotate(**counts)


class TargetSerializer(serializers.ModelSerializer):
    """Un dispositivo HAN en un evento: su estado y cuándo acusó recibo y respondió."""

    event = serializers.CharField(source="event_correlation_id", read_only=True)
    program = serializers.CharField(source="program_code", read_only=True)
    device = serializers.CharField(source="device_mrid", read_only=True)
    device_kind = serializers.CharField(read_only=True)
    customer_number = serializers.CharField(read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = DrEventTarget
        fields = [
            "id",
            "event",
            "program",
            "device",
            "device_kind",
            "customer_number",
            "state",
            "state_label",
            "acknowledged_at",
            "answered_at",
            "updated_at",
        ]


class ProblemSerializer(serializers.Serializer):
    where = serializers.CharField(help_text="Elemento del mensaje (ruta).")
    reason = serializers.CharField(help_text="Por qué no se tomó.")


class MessageSerializer(serializers.ModelSerializer):
    """Un mensaje DR recibido y qué se hizo con él."""

    outcome_label = serializers.CharField(source="get_outcome_display", read_only=True)
    problems = ProblemSerializer(many=True, read_only=True)

    class Meta:
        model = DrMessage
        fields = [
            "message_id",
            "correlation_id",
            "verb",
            "noun",
            "source",
            "sent_at",
            "received_at",
            "channel",
            "outcome",
            "outcome_label",
            "problems",
        ]


RESULT = inline_serializer(
    "DrMessageResult",
    {
        "messageId": serializers.CharField(),
        "correlationId": serializers.CharField(),
        "outcome": serializers.ChoiceField(
            choices=["applied", "partial", "pending", "rejected", DUPLICATE]
        ),
        "outcomeLabel": serializers.CharField(),
        "previousOutcome": serializers.CharField(allow_null=True),
        "problems": ProblemSerializer(many=True),
    },
)
