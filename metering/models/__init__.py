"""Metering: meters and readings (readings.py), virtual meters and backup pairs (points.py),
VEE reports and monitoring (monitoring.py), demand response (dr.py), CIS billing data
(billing.py). One module per concern; each is imported here so Django finds its models."""

from metering.models.billing import *  # noqa: F403
from metering.models.dr import *  # noqa: F403
from metering.models.monitoring import *  # noqa: F403
from metering.models.points import *  # noqa: F403
from metering.models.readings import *  # noqa: F403
