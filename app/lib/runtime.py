"""Process-level tuning applied once the app has started (the benchmark's ceilings use it too)."""

from __future__ import annotations

import gc

# Objects allocated per request die young; a larger first generation means far fewer collections, and the
# older generations (which hold the long-lived start-up objects) are swept less often still.
GC_THRESHOLDS = (50_000, 20, 100)


def settle_heap() -> None:
    """Move everything allocated during start-up out of the collector's sight and collect less often.

    A full collection over the start-up heap (routes, models, catalogs) takes tens of milliseconds; that
    pause is what lifted p99 latency under load, so start-up objects are frozen and never scanned again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
