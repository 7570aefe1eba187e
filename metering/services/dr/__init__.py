"""Demand response (use case 8): receiving the DR messages, and the participation per customer
and event that the CIS bills and the customer sees. Message shapes: docs/dr_messages.md."""

from __future__ import annotations

from metering.services.dr.ingest import (
    DUPLICATE,
    MAX_MESSAGE_BYTES,
    OUTCOME_LABELS,
    Result,
    receive_json,
    receive_xml,
)
from metering.services.dr.participation import (
    CSV_HEADER,
    CustomerDemandResponse,
    DeviceState,
    Participation,
    customer_demand_response,
    participation_targets,
    participations,
    write_participation_csv,
)
from metering.services.dr.reading import Problem

__all__ = [
    "CSV_HEADER",
    "DUPLICATE",
    "MAX_MESSAGE_BYTES",
    "OUTCOME_LABELS",
    "CustomerDemandResponse",
    "DeviceState",
    "Participation",
    "Problem",
    "Result",
    "customer_demand_response",
    "participation_targets",
    "participations",
    "receive_json",
    "receive_xml",
    "write_participation_csv",
]
