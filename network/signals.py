"""The signals the network app sends when its topology changes (sent by
network.services.topology; received by the apps that derive data from the topology, in the
`handlers.py` of each: network's outlines, maps' tiles and KMZ plans).

Receivers run in the order their apps are installed, so network's own receivers (the
feeders' outlines) run before those of the apps above it, which may read the new outlines.
"""

from __future__ import annotations

from django.dispatch import Signal

# Feeders whose spans, poles, equipment or transformers changed, and the area touched.
# Arguments: feeder_ids (frozenset[int]), area ((west, south, east, north) in lon/lat, or None:
# the feeders' extent before the change joined with the box of the edited rows).
topology_changed = Signal()

# The whole network was reloaded (the seed): everything derived from it is out of date.
network_replaced = Signal()
