"""The network import tests' fixtures, for the capture tests that run an import."""

from __future__ import annotations

from tests.network.conftest import catalogue  # noqa: F401
