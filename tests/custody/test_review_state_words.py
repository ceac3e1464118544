"""A copy's review state in a refusal: the English text names it in English, the Polish text
in Polish (issue 51's reviewer read "copy 2/2026 is czeka na przegląd (awaiting)")."""

from __future__ import annotations

import pytest

from kustosz.custody import subject_review as sr
from kustosz.db.custody import Copy
from kustosz.states import CopyState


@pytest.mark.parametrize("state", sorted(set(sr.REVIEW_PL) - {sr.APPROVED}))
def test_handover_refusal_names_the_state_in_each_language(state: str) -> None:
    copy = Copy(number="2/2026", review_state=state, sources=[])
    refused = sr.handover_refusal(copy, "")
    assert refused is not None
    english, polish = str(refused), refused.pl
    assert sr.REVIEW_EN[state] in english
    for word in sr.REVIEW_PL.values():
        assert word not in english
    assert sr.REVIEW_PL[state] in polish
    assert sr.REVIEW_EN[state] not in polish


@pytest.mark.parametrize("state", sorted(set(sr.REVIEW_PL) - {sr.AWAITING}))
def test_review_refusal_names_the_state_in_each_language(state: str) -> None:
    copy = Copy(number="2/2026", review_state=state, state=CopyState.KEPT, sources=[])
    with pytest.raises(Exception) as caught:
        sr.check_reviewable(None, copy, "anna")  # type: ignore[arg-type]
    english, polish = str(caught.value), caught.value.pl  # type: ignore[attr-defined]
    assert sr.REVIEW_EN[state] in english
    for word in sr.REVIEW_PL.values():
        assert word not in english
    assert sr.REVIEW_PL[state] in polish


def test_every_state_has_both_names() -> None:
    assert set(sr.REVIEW_EN) == set(sr.REVIEW_PL)
