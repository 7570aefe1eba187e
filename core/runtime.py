"""A server process made ready before its first request (portal.wsgi).

Python's cyclic garbage collector walks every object it tracks on each full (oldest
generation) collection. A portal process holds some 200,000 such objects from the moment it
has loaded Django, its apps, the URL patterns and WeasyPrint, and none of them ever becomes
garbage; a PDF allocates enough to set off a full collection every few renders, and each one
walked all of them again: about 40 ms, a tenth of a feeder's PDF (bench/pdfs.py). `settle()`
loads what the first requests would load anyway, then moves what is alive at that point to
the permanent generation (gc.freeze, the pattern the Python documentation gives for servers
that preload and fork): later collections walk only what requests allocate. Objects created
afterwards are collected as before.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Load the lazily imported parts requests need, then freeze what is alive; returns the
    number of objects in the permanent generation."""
    import weasyprint  # noqa: F401 (imported by the first PDF otherwise)
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the URLconf, imported by the first request)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
