"""Generated onboarding data: the same companies as an ERP and a CRM hold them, awkward
the way real data is, and decoys with no partner.

``generate(pairs, decoys, seed)`` gives ERP customers and CRM accounts for ``pairs``
companies known to both (the truth: CRM key -> ERP key) plus ``decoys`` CRM accounts with
no ERP partner and as many ERP customers with no CRM partner. Awkward like real data:
typos, lost diacritics, legal-form variants, abbreviations, punctuation, postcode formats,
VAT numbers with or without prefix and spaces (a VAT on both sides for fewer than half of
the pairs), moved companies, free-mail addresses. Decoys: the same name in another town,
a subsidiary at its parent's address, generic names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

FIRST = [
    "Nord", "Sør", "Øst", "Vest", "Fjell", "Berg", "Sol", "Havn", "Elv", "Skog", "Vik",
    "Stein", "Lys", "Kyst", "Alpen", "Rhein", "Wisła", "Ærø", "Göta", "Kraków", "Å",
    "Lind", "Ask", "Bjørk", "Eike", "Furu", "Grøn", "Hav", "Is", "Jern", "Kvist", "Lauv",
    "Måne", "Nes", "Odd", "Rud", "Sand", "Tind", "Ulv", "Vår", "Ørn", "Mühl", "Schön",
    "Groß", "Łąka", "Żuraw", "Śnież", "Käll", "Björk", "Hög",
]  # fmt: skip
SECOND = [
    "heim", "vik", "berg", "dal", "stad", "lund", "holm", "gård", "by", "ås", "sund",
    "fjord", "ström", "see", "feld", "wald", "nes", "li", "tun", "voll", "haug", "mark",
]  # fmt: skip
TRADES = [
    "Elektro", "Bygg", "Transport", "Logistikk", "Maskin", "Regnskap", "Data",
    "Consulting", "Energi", "Marine", "Fisk", "Trelast", "Rør", "Auto", "Media",
    "Design", "Handel", "Technik", "Metallbau", "Budownictwo", "Engineering", "Services",
    "International", "Technology", "Group", "Holding", "Management", "Systems",
    "Manufacturing", "Distribution", "Bakeri", "Verksted", "Møbler", "Optikk", "Trykk",
]  # fmt: skip
ABBREVIATED = {
    "International": ["Intl", "Int.", "Intl."],
    "Services": ["Svcs", "Svc."],
    "Engineering": ["Eng.", "Engg"],
    "Technology": ["Tech", "Tech."],
    "Group": ["Grp", "Grp."],
    "Holding": ["Hldg", "Hldg."],
    "Management": ["Mgmt", "Mgt."],
    "Systems": ["Sys."],
    "Manufacturing": ["Mfg", "Mfg."],
    "Distribution": ["Dist.", "Distr."],
    "Consulting": ["Cons."],
    "og": ["&", "+"],
    "und": ["&"],
}
GENERIC = ["Bygg og Anlegg", "Regnskapskontoret", "Consulting", "Transport", "Service",
           "Elektro", "Eiendom", "Invest", "Handel", "Data"]  # fmt: skip
SUBSIDIARY_WORDS = ["Eiendom", "Invest", "Service", "Logistikk", "Utleie", "Drift"]
FREE_MAIL = ["gmail.com", "hotmail.com", "online.no", "outlook.com", "yahoo.se", "gmx.de",
             "wp.pl", "live.no"]  # fmt: skip


@dataclass(frozen=True)
class Country:
    """How one country writes its legal forms, postcodes, VAT numbers and domains."""

    code: str
    forms: tuple[tuple[str, tuple[str, ...]], ...]  # official form, variants
    cities: tuple[str, ...]
    tld: str

    def postcode(self, rng: random.Random) -> str:
        """A postcode in the country's canonical form."""
        if self.code == "NO" or self.code == "DK":
            return f"{rng.randint(1000, 9990):04d}"
        if self.code == "SE":
            n = rng.randint(10000, 98999)
            return f"{str(n)[:3]} {str(n)[3:]}"
        if self.code == "DE":
            return f"{rng.randint(10000, 99999):05d}"
        if self.code == "PL":
            return f"{rng.randint(0, 99):02d}-{rng.randint(0, 999):03d}"
        letters = "ABCDEFGHJKLMNPRSTUW"
        return (
            f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(1, 20)} "
            f"{rng.randint(1, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        )

    def postcode_variant(self, canonical: str, rng: random.Random) -> str:
        """The same postcode as another system may write it."""
        squeezed = canonical.replace(" ", "").replace("-", "")
        options = [canonical, squeezed, f"{self.code}-{canonical}"]
        if self.code == "DE":
            options.append(f"D-{canonical}")
        if self.code == "GB":
            options = [canonical, squeezed, canonical.lower()]
        return rng.choice(options)

    def vat(self, rng: random.Random) -> tuple[str, str]:
        """A VAT number as (its digits, as the ERP writes it)."""
        width = {"NO": 9, "SE": 12, "DE": 9, "PL": 10, "DK": 8, "GB": 9}[self.code]
        digits = "".join(str(rng.randint(0, 9)) for _ in range(width))
        digits = str(rng.randint(1, 9)) + digits[1:]
        if self.code == "NO":
            return digits, f"NO{digits}MVA"
        return digits, f"{self.code}{digits}"

    def vat_variant(self, digits: str, rng: random.Random) -> str:
        """The same VAT number written another way (spaces, dots, with(out) prefix)."""
        groups = " ".join(digits[i : i + 3] for i in range(0, len(digits), 3))
        options = [digits, f"{self.code} {groups}", f"{self.code}{digits}", groups]
        if self.code == "NO":
            options += [f"{groups} MVA", f"NO {groups} MVA"]
        if self.code == "PL":
            options.append(f"{digits[:3]}-{digits[3:6]}-{digits[6:8]}-{digits[8:]}")
        if self.code == "DE":
            options.append(f"DE {digits[:3]}.{digits[3:6]}.{digits[6:]}")
        return rng.choice(options)


COUNTRIES = (
    Country("NO", (("AS", ("A/S", "as", "A.S.")), ("ASA", ("asa",))),
            ("Oslo", "Bergen", "Trondheim", "Tromsø", "Ålesund", "Bodø", "Skien"), "no"),
    Country("SE", (("AB", ("Aktiebolag", "AB (publ)", "ab")),),
            ("Stockholm", "Göteborg", "Malmö", "Umeå", "Örebro", "Västerås"), "se"),
    Country("DE", (("GmbH", ("G.m.b.H.", "GMBH", "Gmbh")), ("GmbH & Co. KG", ("GmbH & Co KG",))),
            ("München", "Köln", "Düsseldorf", "Hamburg", "Lübeck", "Nürnberg"), "de"),
    Country("PL", (("Sp. z o.o.", ("sp. z o.o.", "Sp.z o.o.", "spółka z o.o.", "SP ZOO")),),
            ("Kraków", "Łódź", "Gdańsk", "Poznań", "Wrocław", "Warszawa"), "pl"),
    Country("DK", (("ApS", ("Aps", "APS")), ("A/S", ("AS", "a/s"))),
            ("København", "Århus", "Odense", "Aalborg", "Esbjerg"), "dk"),
    Country("GB", (("Ltd", ("Limited", "Ltd.", "LTD")), ("PLC", ("plc",))),
            ("London", "Leeds", "Bristol", "York", "Glasgow"), "co.uk"),
)  # fmt: skip


@dataclass(frozen=True)
class Company:
    """One company as one system holds it (``vat`` as that system writes it)."""

    key: str
    name: str
    vat: str | None
    postcode: str | None
    city: str | None
    country: str
    email: str | None


@dataclass
class Onboarding:
    """Both sides, the truth (CRM key -> ERP key) and the CRM decoys."""

    erp: list[Company] = field(default_factory=list)
    crm: list[Company] = field(default_factory=list)
    truth: dict[str, str] = field(default_factory=dict)
    decoys: dict[str, str] = field(default_factory=dict)
    """CRM decoy key -> which kind of decoy it is."""


def _slug(name: str) -> str:
    from resolvers.onboarding.normalise import fold

    return "".join(ch if ch.isalnum() else "-" for ch in fold(name)).strip("-")


def _lose_diacritics(name: str) -> str:
    from resolvers.onboarding.normalise import fold

    return "".join(
        fold(ch).upper() if ch.isupper() and fold(ch) else (fold(ch) or ch) for ch in name
    )


def _typo(name: str, rng: random.Random) -> str:
    words = name.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not long:
        return name
    at = rng.choice(long)
    word = words[at]
    pos = rng.randint(1, len(word) - 2)
    change = rng.choice(["swap", "drop", "double"])
    if change == "swap":
        word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
    elif change == "drop":
        word = word[:pos] + word[pos + 1 :]
    else:
        word = word[:pos] + word[pos] + word[pos:]
    words[at] = word
    return " ".join(words)


def _abbreviate(name: str, rng: random.Random) -> str:
    words = name.split(" ")
    spots = [i for i, w in enumerate(words) if w in ABBREVIATED]
    if not spots:
        return name
    at = rng.choice(spots)
    words[at] = rng.choice(ABBREVIATED[words[at]])
    return " ".join(words)


class _Names:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def fresh(self) -> str:
        while True:
            place = self.rng.choice(FIRST) + self.rng.choice(SECOND)
            trades = self.rng.sample(TRADES, self.rng.choice([1, 1, 2]))
            joined = " og ".join(trades) if len(trades) == 2 and self.rng.random() < 0.3 else None
            name = f"{place} {joined or ' '.join(trades)}"
            if name not in self.used:
                self.used.add(name)
                return name


def generate(pairs: int = 1000, decoys: int = 300, seed: int = 22) -> Onboarding:
    """ERP customers and CRM accounts as described in the module docstring."""
    rng = random.Random(seed)
    names = _Names(rng)
    data = Onboarding()
    erp_no = iter(range(10001, 99999))
    crm_no = iter(range(1001, 99999))

    def erp_company(core: str, country: Country) -> tuple[Company, str, str]:
        form, _ = rng.choice(country.forms)
        digits, vat = country.vat(rng)
        city = rng.choice(country.cities)
        # a company's own domain (one with a generic name has its town in it)
        domain = f"{_slug(core)}{'-' + _slug(city) if core in GENERIC else ''}.{country.tld}"
        company = Company(
            key=str(next(erp_no)),
            name=f"{core} {form}",
            vat=vat if rng.random() < 0.75 else None,
            postcode=country.postcode(rng),
            city=city,
            country=country.code,
            email=f"faktura@{domain}" if rng.random() < 0.6 else None,
        )
        return company, digits, domain

    for _ in range(pairs):
        country = rng.choice(COUNTRIES)
        core = names.fresh()
        if rng.random() < 0.04:  # a generic name, told apart by where it is
            core = rng.choice(GENERIC)
        erp, digits, domain = erp_company(core, country)
        data.erp.append(erp)
        crm_key = _crm_key(crm_no)
        data.truth[crm_key] = erp.key
        data.crm.append(_crm_side(crm_key, erp, core, digits, domain, country, rng))

    erp_by_key = {c.key: c for c in data.erp}
    for n in range(decoys):
        kind = ("twin", "subsidiary", "generic")[n % 3]
        partnered = rng.choice(list(data.truth.items()))
        parent = erp_by_key[partnered[1]]
        country = next(c for c in COUNTRIES if c.code == parent.country)
        key = _crm_key(crm_no)
        if kind == "twin":  # the same name in another town
            city = rng.choice([c for c in country.cities if c != parent.city])
            decoy = Company(
                key, parent.name, None, country.postcode(rng), city, country.code,
                f"post@{rng.choice(FREE_MAIL)}" if rng.random() < 0.5 else None,
            )  # fmt: skip
            while decoy.postcode == parent.postcode:
                decoy = replace(decoy, postcode=country.postcode(rng))
        elif kind == "subsidiary":  # a subsidiary at its parent's address
            core = parent.name.rsplit(" ", 1)[0]
            word = rng.choice(SUBSIDIARY_WORDS)
            _, own_vat = country.vat(rng)
            same_domain = parent.email is not None and rng.random() < 0.5
            email = parent.email.replace("faktura@", "post@") if same_domain else None
            decoy = Company(
                key, f"{core} {word}", own_vat if rng.random() < 0.4 else None,
                parent.postcode, parent.city, country.code, email,
            )  # fmt: skip
        else:  # a generic name somewhere no ERP customer of that name is
            decoy = Company(
                key, f"{rng.choice(GENERIC)} {country.forms[0][0]}", None,
                country.postcode(rng), rng.choice(country.cities), country.code,
                f"firma@{rng.choice(FREE_MAIL)}",
            )  # fmt: skip
        data.crm.append(decoy)
        data.decoys[key] = kind
    for _ in range(decoys):  # ERP customers nobody in the CRM knows
        country = rng.choice(COUNTRIES)
        erp, _, _ = erp_company(names.fresh(), country)
        data.erp.append(erp)
    rng.shuffle(data.crm)
    rng.shuffle(data.erp)
    return data


def _crm_key(numbers: object) -> str:
    assert hasattr(numbers, "__next__")
    return f"A-{next(numbers)}"


def _crm_side(
    key: str,
    erp: Company,
    core: str,
    digits: str,
    domain: str,
    country: Country,
    rng: random.Random,
) -> Company:
    """The CRM's record of the ERP's company ``erp``."""
    name = core
    roll = rng.random()
    if roll < 0.35:
        pass  # no legal form at all
    elif roll < 0.65:
        official = erp.name[len(core) + 1 :]
        variants = dict(country.forms).get(official, ())
        name = f"{core} {rng.choice(variants) if variants else official}"
    else:
        name = erp.name
    if rng.random() < 0.3:
        name = _lose_diacritics(name)
    if rng.random() < 0.2:
        name = _typo(name, rng)
    if rng.random() < 0.5:
        name = _abbreviate(name, rng)
    if rng.random() < 0.1:
        name = name.upper()
    if rng.random() < 0.1:
        name = name.replace(" ", "-", 1)
    both_vat = erp.vat is not None and rng.random() < 0.55
    vat = (
        country.vat_variant(digits, rng)
        if both_vat or (erp.vat is None and rng.random() < 0.3)
        else None
    )
    postcode: str | None = country.postcode_variant(erp.postcode or "", rng)
    city = erp.city
    email_roll = rng.random()
    email: str | None = (
        f"ola@{domain}" if email_roll < 0.5 else
        f"{_slug(core)[:8]}@{rng.choice(FREE_MAIL)}" if email_roll < 0.8 else None
    )  # fmt: skip
    if rng.random() < 0.1:  # the company moved; the CRM has the old address
        postcode = country.postcode(rng)
        city = rng.choice(country.cities)
    elif rng.random() < 0.08:
        postcode = None
    return Company(key, name, vat, postcode, city, country.code, email)


__all__ = ["COUNTRIES", "Company", "Onboarding", "generate"]
