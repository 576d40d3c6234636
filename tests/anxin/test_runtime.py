"""Once a process is up, its start-up objects leave the cycle collector's passes and young objects get room."""

from __future__ import annotations

import gc

from anxin.runtime import OLDER_GENERATIONS, YOUNG_GENERATION, settle


def test_settle_freezes_what_exists_and_widens_the_young_generation() -> None:
    before = gc.get_threshold()
    try:
        settle()
        assert gc.get_freeze_count() > 1000  # modules, functions, classes: never garbage
        assert gc.get_threshold() == (YOUNG_GENERATION, *OLDER_GENERATIONS)
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
