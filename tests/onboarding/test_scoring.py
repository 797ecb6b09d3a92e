"""Scoring without any system: blocking compares few pairs, evidence adds up the way an
admin would weigh it, and each record is proposed at most once."""

from __future__ import annotations

from resolvers.onboarding.scoring import (
    DEFAULT_THRESHOLD,
    candidate_pairs,
    common_words,
    profile,
    score_of,
    suggest,
)
from sources.records import Candidate
from tests.onboarding.generate import generate
from tests.onboarding.upstreams import as_candidate


def test_blocking_compares_a_small_share_of_all_pairs_and_keeps_the_true_ones() -> None:
    data = generate(pairs=400, decoys=100, seed=5)
    left = [profile(as_candidate(c)) for c in data.crm]
    right = [profile(as_candidate(c)) for c in data.erp]
    pairs = candidate_pairs(left, right, common_words([*left, *right]))
    assert len(pairs) < 0.05 * len(left) * len(right)
    at_left = {p.key: i for i, p in enumerate(left)}
    at_right = {p.key: i for i, p in enumerate(right)}
    kept = sum((at_left[c], at_right[e]) in pairs for c, e in data.truth.items())
    assert kept >= 0.98 * len(data.truth)


def test_same_vat_beats_a_typo_and_a_moved_address() -> None:
    crm = [Candidate("A-1", "Fjellhiem Elektro", vat="NO 912 345 678 MVA", postcode="0150")]
    erp = [Candidate("10001", "Fjellheim Elektro AS", vat="912345678", postcode="5003")]
    [match] = suggest(crm, erp)
    assert (match.left, match.right) == ("A-1", "10001")
    assert "same VAT number" in match.reasons
    assert match.score >= DEFAULT_THRESHOLD


def test_the_same_name_in_another_town_is_not_proposed() -> None:
    crm = [Candidate("A-1", "Nordlys Bakeri", postcode="7010", city="Trondheim")]
    erp = [Candidate("10001", "Nordlys Bakeri AS", postcode="0150", city="Oslo")]
    assert suggest(crm, erp) == []


def test_a_subsidiary_at_its_parents_address_is_not_proposed() -> None:
    parent = Candidate("10001", "Askvik Marine AS", postcode="6002", email_domain="askvik.no")
    crm = [Candidate("A-1", "Askvik Marine Eiendom", postcode="6002", email_domain="askvik.no")]
    assert suggest(crm, [parent]) == []


def test_different_vat_numbers_veto_an_equal_name_and_address() -> None:
    crm = [Candidate("A-1", "Vik Data AS", vat="NO111111111MVA", postcode="0150")]
    erp = [Candidate("10001", "Vik Data AS", vat="NO222222222MVA", postcode="0150")]
    assert suggest(crm, erp) == []


def test_each_record_is_proposed_once_and_rejected_pairs_never() -> None:
    crm = [
        Candidate("A-1", "Solvik Transport", postcode="4010"),
        Candidate("A-2", "Solvik Transport AS", postcode="4010"),
    ]
    erp = [Candidate("10001", "Solvik Transport AS", postcode="4010")]
    # two CRM accounts equally like one customer: too close to tell apart, none proposed
    assert suggest(crm, erp) == []
    [match] = suggest(crm[:1], erp)
    assert match.right == "10001"
    assert suggest(crm[:1], erp, excluded=[("A-1", "10001")]) == []


def test_scores_grow_with_the_evidence() -> None:
    assert 0.0 < score_of(-3) < score_of(0) < score_of(2.5) < score_of(8) < 1.0
