"""Admin of the metering models, one module per concern."""

from metering.admin import billing, dr, readings  # noqa: F401
