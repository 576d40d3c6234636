"""The trainer's side of learning from outcomes: the kept examples come back as training windows, consent first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg
import pytest
from threadpoolctl import threadpool_limits

from alerts.fall_model import MIN_TRIGGER_G, MODEL_RATE_HZ, POST_S, PRE_S
from alerts.lifecycle import Outcome
from anxin.commands import train
from evaluation.fall_training import build_dataset, train_fall_model
from evaluation.outcomes import SOURCE, outcome_windows, pseudonym
from tests.alerts.movements import habit
from tests.alerts.test_outcomes import Desk
from tests.evaluation.test_fall_model import SOURCES, TINY, write_folder


def test_the_kept_examples_come_back_as_labelled_training_windows_of_consenting_residents_only(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(21)
    wang, li = Desk(db_url, "r1"), Desk(db_url, "r2")
    try:
        for _ in range(3):
            wang.close(wang.impact(habit(rng)))
        wang.close(wang.impact(habit(rng)), Outcome.HOSPITAL, real_fall=True)
        li.close(li.impact(habit(rng)))
    finally:
        wang.close_writer()
        li.close_writer()
    with psycopg.connect(db_url) as conn:  # Li withdraws her consent: nothing of hers is read from now on
        conn.execute("UPDATE residents SET learning_consent = false WHERE id = 'r2'")

    windows = outcome_windows(db_url)
    assert [tw.trial.label for tw in windows] == ["adl", "adl", "adl", "fall"]
    assert [tw.trial.activity for tw in windows][-2:] == ["desk_false_alarm", "desk_confirmed_fall"]
    assert {(tw.trial.source, tw.trial.subject, tw.trial.age) for tw in windows} == {(SOURCE, pseudonym("r1"), "old")}
    assert "r1" not in pseudonym("r1")
    frame = round((PRE_S + POST_S) * MODEL_RATE_HZ) + 1
    assert all(w.shape == (frame, 3) for tw in windows for w in tw.windows)
    assert all(max(tw.peaks) >= MIN_TRIGGER_G for tw in windows)  # the slap on the table fires the trigger

    monkeypatch.setenv("DATABASE_URL", db_url)  # what `anxin train falls --include-outcomes` reads
    assert len(train.outcome_windows()) == 4
    data = build_dataset(windows[:1], augment=1, extra=windows[1:])  # trained on, augmented, never scored
    assert list(data.extra) == [1, 2, 3]
    assert data.x.shape[0] == sum(len(tw.windows) for tw in windows) and len(data.xa) > 0


def test_training_with_the_desks_outcomes_trains_on_them_and_scores_only_the_reference_sources(
    db_url: str, tmp_path: Path
) -> None:
    rng = np.random.default_rng(22)
    desk = Desk(db_url, "r1")
    try:
        for _ in range(3):
            desk.close(desk.impact(habit(rng)))
    finally:
        desk.close_writer()
    folder = write_folder(tmp_path / "falls")
    with threadpool_limits(1):
        result = train_fall_model(folder, TINY, extra=outcome_windows(db_url))
    assert result.report["extra_trials"] == 3
    assert set(result.report["leave_one_source_out"]["per_source"]) == set(SOURCES)  # never a held-out source
    trained = result.classifier.metadata["trained_trials"]
    assert sum(key.startswith(f"{SOURCE}/alert-") for key in trained) == 3
    assert not any("r1" in key for key in trained)  # the model file names no resident
