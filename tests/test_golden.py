"""The golden baseline: fixed-seed runs of several scenarios give exactly the saved numbers.

A refactor must keep this test green without touching ``tests/golden/baseline.json``.
A change meant to alter results regenerates it on purpose
(``python -m tests.golden.make_baseline``) and says why in the commit.
"""

from __future__ import annotations

import json

import pytest

from tests.golden import make_baseline as golden

SAVED = json.loads(golden.BASELINE.read_text(encoding="utf-8"))


def test_baseline_covers_every_case() -> None:
    assert sorted(SAVED) == sorted(golden.case_key(c) for c in golden.CASES)


@pytest.mark.parametrize("case", golden.CASES, ids=golden.case_key)
def test_fixed_seed_run_matches_the_golden_baseline(case) -> None:
    got = golden.run_case(case)
    want = SAVED[golden.case_key(case)]
    assert sorted(got) == sorted(want), "the metric columns changed"
    for column in want:
        assert got[column] == want[column], f"{golden.case_key(case)}: {column} differs"


def test_file_text_is_what_the_generator_writes() -> None:
    # the file is exactly the generator's own rendering of its content (no hand edits)
    assert golden.dumps(SAVED) == golden.BASELINE.read_text(encoding="utf-8")
