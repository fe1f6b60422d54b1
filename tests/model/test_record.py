"""The metrics table and the weekly record (simulation.model.record)."""

from __future__ import annotations

import pytest

from simulation.model import record
from simulation.model.insurgency import Attack, InsurgencyStep


def test_a_row_has_step_date_and_every_metric_in_table_order(small_model) -> None:
    small_model.step()
    row = small_model.metric_rows()[-1]
    assert list(row) == ["step", "date", *record.METRIC_NAMES]
    assert row["step"] == 1


def test_rows_report_the_week_in_real_world_units(small_model) -> None:
    ins = InsurgencyStep(
        attacks=[Attack(1, 1, 0, 10), Attack(2, 2, 1, 30)], taliban_ct_deaths=4, interdicted=3
    )
    small_model.collateral = 2
    ppl = small_model.params["scale.people_per_civilian"]
    row = record.week_row(small_model, ins, arrests=5)
    assert row["attacks"] == 2 and row["attacks_interdicted"] == 3
    assert row["attack_deaths"] == 40 and row["civilian_deaths"] == 30
    assert row["taliban_deaths"] == 14
    assert row["collateral_casualties"] == 2 * ppl and row["arrests"] == 5 * ppl


def test_the_record_cannot_drift_from_the_table(small_model, monkeypatch) -> None:
    monkeypatch.setattr(record, "_NAMES", record._NAMES | {"a_new_metric"})
    with pytest.raises(RuntimeError, match="a_new_metric"):
        record.week_row(small_model, InsurgencyStep(), arrests=0)
