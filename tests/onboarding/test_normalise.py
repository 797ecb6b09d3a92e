"""Normalised names, VAT numbers, postcodes and e-mail domains compare equal however each
system writes them, and different companies stay different."""

from __future__ import annotations

import pytest

from resolvers.onboarding.normalise import (
    normal_domain,
    normal_name,
    normal_postcode,
    normal_vat,
)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Fjellheim Elektro AS", "FJELLHEIM ELEKTRO A/S"),
        ("Fjellheim Elektro AS", "Fjellheim Elektro"),
        ("Sørvik Bygg ASA", "Sorvik Bygg asa"),
        ("Łąkaby Data Sp. z o.o.", "Lakaby Data sp.z o.o."),
        ("Łąkaby Data Sp. z o.o.", "Łąkaby Data spółka z o.o."),
        ("Mühlberg Technik GmbH & Co. KG", "Muhlberg Technik GmbH & Co KG"),
        ("Groß Metallbau GmbH", "Gross Metallbau G.m.b.H."),
        ("Askheim International Ltd", "Askheim Intl. Limited"),
        ("Nord Transport og Logistikk AB", "Nord Transport & Logistikk Aktiebolag"),
        ("Ærø Services ApS", "Aero Svcs APS"),
        ("Holm Data Limited", "Holm Data Limted"),
    ],
)
def test_the_same_name_written_differently_normalises_the_same(one: str, other: str) -> None:
    assert normal_name(one) == normal_name(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Fjellheim Elektro AS", "Fjellheim Elektro Eiendom AS"),
        ("Nord Bygg AS", "Sør Bygg AS"),
        ("AS", "AB"),  # a legal form alone is kept: a name never becomes empty
    ],
)
def test_different_names_stay_different(one: str, other: str) -> None:
    assert normal_name(one) != normal_name(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("NO123456789MVA", "123 456 789"),
        ("NO 123 456 789 MVA", "123456789"),
        ("DE123456789", "DE 123.456.789"),
        ("PL1234567890", "123-456-78-90"),
        ("SE556677889901", "SE 556 677 889 901"),
    ],
)
def test_vat_numbers_compare_without_prefix_spaces_and_dots(one: str, other: str) -> None:
    assert normal_vat(one) == normal_vat(other) is not None


def test_vat_numbers_that_differ_stay_different_and_junk_is_none() -> None:
    assert normal_vat("NO123456789MVA") != normal_vat("NO123456780MVA")
    assert normal_vat("n/a") is None
    assert normal_vat(None) is None


@pytest.mark.parametrize(
    ("one", "other"),
    [("123 45", "SE-123 45"), ("10115", "D-10115"), ("00-950", "00950"), ("SW1A 1AA", "sw1a1aa")],
)
def test_postcode_formats(one: str, other: str) -> None:
    assert normal_postcode(one) == normal_postcode(other) is not None


def test_free_mail_domains_are_no_evidence() -> None:
    assert normal_domain("gmail.com") is None
    assert normal_domain("ola@Hotmail.com") is None
    assert normal_domain("www.Fjellheim-Elektro.no") == "fjellheim-elektro.no"
    assert normal_domain("faktura@fjellheim-elektro.no") == "fjellheim-elektro.no"
