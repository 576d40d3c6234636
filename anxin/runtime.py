"""How a long-running Anxin process treats Python's cycle collector once it is up.

A pass of the collector stops every thread of the process — the urgent path's too — for as long as it
walks the objects it tracks. Measured under `make bench-latency`'s 50 % load, before this: an alert
process ran a full pass every few seconds, each one 100–300 ms, over some 180,000 objects of which
nearly all were made at start-up (modules, functions, classes, settings) and will never be garbage;
and short-lived telemetry in flight (a batch of 5,000 messages lives about 200 ms) survived the young
generation's frequent passes, so the full passes kept coming. Two settings, both from the standard
library's `gc` module:

* `gc.freeze()` once the process is up: what exists then is left out of every later pass (reference
  counting still frees it when it is dropped; only a reference cycle among those objects would stay).
* a larger young generation, so a message's objects are freed before they are old enough to be walked
  again and again.
"""

from __future__ import annotations

import gc
import logging

LOG = logging.getLogger("anxin")
YOUNG_GENERATION = 20_000  # objects allocated (net) between passes of the youngest generation (default 700)
OLDER_GENERATIONS = (20, 20)  # passes of the generation below before one of the next (default 10, 10)


def settle() -> None:
    """Collect once, leave every object that exists now out of later passes, and give young objects room."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, *OLDER_GENERATIONS)
    LOG.debug("%d start-up objects left out of the cycle collector's passes", gc.get_freeze_count())
