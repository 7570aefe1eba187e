"""core/runtime.py: the server process settled before its first request."""

from __future__ import annotations

import gc
import importlib
import sys

import pytest

from core import runtime


@pytest.fixture
def unfrozen():
    """Nothing in the permanent generation for the test; frozen again afterwards, as the
    suite's process is (tests/conftest.py: pytest_collection_finish)."""
    gc.unfreeze()
    yield
    gc.collect()
    gc.freeze()


def test_settle_freezes_what_is_alive_and_loads_weasyprint(unfrozen):
    gc.collect()
    tracked_before = len(gc.get_objects())
    assert gc.get_freeze_count() == 0

    frozen = runtime.settle()

    assert "weasyprint" in sys.modules
    # Everything alive then, WeasyPrint's modules too (less what reference counting freed
    # since: a frozen object that is no longer referenced still goes).
    assert frozen >= 0.9 * tracked_before
    # A full collection now walks a fraction of what it walked before.
    assert len(gc.get_objects()) < tracked_before / 10


def test_objects_made_afterwards_are_still_collected(unfrozen):
    runtime.settle()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the collector frees it
    del a, b
    assert gc.collect() >= 2


def test_the_servers_entry_point_settles_the_process(unfrozen):
    import portal.wsgi

    importlib.reload(portal.wsgi)
    assert gc.get_freeze_count() > 0
    assert callable(portal.wsgi.application)
