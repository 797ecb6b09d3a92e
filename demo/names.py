"""Name material for the demo data: company, person and project names with æøå/äöü/ąęł.

Everything here is pure: functions take a ``random.Random`` and return strings, so the
generator stays deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

from demo.records import Unit


@dataclass(frozen=True, slots=True)
class CountryProfile:
    """What a company from one country looks like: currency, name parts, legal forms."""

    country: str
    currency: str
    weight: int
    stems: tuple[str, ...]
    trades: tuple[str, ...]
    legal_forms: tuple[str, ...]
    phone_prefix: str


def _w(text: str) -> tuple[str, ...]:
    """The "|"-separated items of ``text``, stripped (keeps the word lists compact)."""
    return tuple(item.strip() for item in text.split("|"))


def _triple(row: str) -> tuple[str, str, str]:
    name, country, currency = (part.strip() for part in row.split(";"))
    return name, country, currency


_UNITS: dict[str, Unit] = {"pcs": "pcs", "h": "h", "kg": "kg"}


def _product(row: str) -> tuple[str, Unit, float]:
    name, unit, price = (part.strip() for part in row.split(";"))
    return name, _UNITS[unit], float(price)


COUNTRIES: tuple[CountryProfile, ...] = (
    CountryProfile(
        "NO",
        "NOK",
        30,
        _w(
            "Bjørnstad | Løvås | Sætre | Håland | Fjellheim | Nordvik | Østby | Grønli | "
            "Bråten | Solberg | Aasen | Skår | Tønnesen | Mjøsa | Kvåle | Ødegård | Strømme | "
            "Vestby | Hærland | Lyngør | Fløysand | Rønning | Kløvstad | Sørli | Haugen | "
            "Myrvold | Tveitå | Gjøvik | Årdal | Nærbø"
        ),
        _w(
            "Ærø | Bygg | Elektro | Maskin | Transport | Handel | Sjømat | Eiendom | Rør | "
            "Trelast | Mekaniske Verksted | Kraft | Økonomi | Bil"
        ),
        _w("AS | AS | AS | ASA"),
        "+47",
    ),
    CountryProfile(
        "SE",
        "SEK",
        20,
        _w(
            "Åkerlund | Björklund | Nyström | Söderberg | Öhman | Lindqvist | Hällström | "
            "Ängby | Sjöberg | Västerås | Fröding | Bäckström | Löfgren | Ågren | Strömgren | "
            "Hägglund | Näslund | Östlund | Wikström | Dahlén"
        ),
        _w(
            "Bygg | Verkstad | Logistik | Trä | Elektriska | Frukt | Stål | Möbler | "
            "Fastigheter | Kemi"
        ),
        _w("AB"),
        "+46",
    ),
    CountryProfile(
        "DK",
        "DKK",
        15,
        _w(
            "Søndergaard | Kjær | Mølgaard | Højgaard | Skovgaard | Nørgaard | Bækgaard | "
            "Lærkholm | Ålholm | Fænø | Krøyer | Østergaard | Bøgelund | Dalgård | "
            "Hvidbjerg | Thorsø"
        ),
        _w(
            "Ejendomme | Maskinfabrik | Transport | Handel | VVS | Tømrer | Økologi | "
            "Smørrebrød | Elektronik"
        ),
        _w("A/S | ApS"),
        "+45",
    ),
    CountryProfile(
        "DE",
        "EUR",
        15,
        _w(
            "Müller | Schäfer | Köhler | Jäger | Krüger | Böhm | Hübner | Schröder | Weiß | "
            "Großmann | Lührs | Fuchs | Günther | Wöhrle | Bäumer | Dürr | Rößler | Kühne | "
            "Löffler"
        ),
        _w(
            "& Söhne | Maschinenbau | Logistik | Bau | Elektrotechnik | Kältetechnik | "
            "Stahlhandel | Präzisionsteile | Brückenbau | Gerätebau"
        ),
        _w("GmbH | GmbH | AG | KG"),
        "+49",
    ),
    CountryProfile(
        "PL",
        "PLN",
        12,
        _w(
            "Wrocław | Łódź | Gdańsk | Kraków | Poznań | Białystok | Nowak | Wiśniewski | "
            "Dąbrowski | Szczęsny | Żmigród | Kęty | Zieliński | Śląsk | Gniezno | Łomża | "
            "Częstochowa | Świdnica"
        ),
        _w(
            "Łąka | Budownictwo | Transport | Stal | Meble | Drewno | Części | Energia | "
            "Przędza | Hurtownia"
        ),
        _w("Sp. z o.o. | Sp. z o.o. | S.A. | Sp.k."),
        "+48",
    ),
    CountryProfile(
        "FI",
        "EUR",
        5,
        _w("Mäkinen | Järvinen | Hämäläinen | Kärkkäinen | Pöyry | Väisänen | Ylönen"),
        _w("Rakennus | Kuljetus | Metalli | Puu | Sähkö"),
        _w("Oy | Oyj"),
        "+358",
    ),
    CountryProfile(
        "AT",
        "EUR",
        3,
        _w("Gräf | Pöschl | Würzl | Hölzl | Mayrhöfer"),
        _w("Holzbau | Seilbahnen | Metallwaren | Glas"),
        _w("GmbH | AG"),
        "+43",
    ),
)

PROFILE_BY_COUNTRY = {p.country: p for p in COUNTRIES}

SHOWCASE_CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("Bjørnstad Ærø AS", "NO"),
    ("Müller & Söhne GmbH", "DE"),
    ("Wrocław Łąka Sp. z o.o.", "PL"),
    ("Acme Industri AS", "NO"),
    ("Müller Präzisionsteile GmbH", "DE"),
    ("Åkerlund Trä AB", "SE"),
    ("Søndergaard Økologi A/S", "DK"),
)

# (name, country, currency)
SUPPLIER_NAMES: tuple[tuple[str, str, str], ...] = tuple(
    _triple(row)
    for row in _w(
        "Nordic Steel Supply AB; SE; SEK | "
        "Hydraulikk Øst AS; NO; NOK | "
        "Bauteile Böhm GmbH; DE; EUR | "
        "Łożyska Polska Sp. z o.o.; PL; PLN | "
        "Dansk Emballage ApS; DK; DKK | "
        "Kemikalier Sør AS; NO; NOK | "
        "Schrauben Krüger KG; DE; EUR | "
        "Elektro Grossist Nord AS; NO; NOK | "
        "Västkust Logistik AB; SE; SEK | "
        "Förpackning Syd AB; SE; SEK | "
        "Kabel & Draht Hübner GmbH; DE; EUR | "
        "Stalprofil Gdańsk S.A.; PL; PLN | "
        "Jysk Værktøj A/S; DK; DKK | "
        "Rørleverandøren AS; NO; NOK | "
        "Pumpen Jäger GmbH; DE; EUR | "
        "Kontorrekvisita Øst AS; NO; NOK | "
        "Lakiery Śląsk Sp. z o.o.; PL; PLN | "
        "Trävaruhuset Öhman AB; SE; SEK | "
        "Metsä Puutavara Oy; FI; EUR | "
        "Glas Würzl GmbH; AT; EUR | "
        "Ventiler Nørgaard A/S; DK; DKK | "
        "Maskinutleie Bråten AS; NO; NOK | "
        "Druckluft Schäfer GmbH; DE; EUR | "
        "Transport Łódź Sp. z o.o.; PL; PLN | "
        "Sveiseutstyr Vest AS; NO; NOK | "
        "Industriplast Sjöberg AB; SE; SEK | "
        "Frakt & Lager Kjær ApS; DK; DKK | "
        "Lager Technik Fuchs GmbH; DE; EUR | "
        "IT-Drift Håland AS; NO; NOK | "
        "Renhold Grønli AS; NO; NOK | "
        "Energi Kraków S.A.; PL; PLN | "
        "Verktyg Bäckström AB; SE; SEK | "
        "Motorenwerk Köhler AG; DE; EUR | "
        "Sikkerhet Østby AS; NO; NOK | "
        "Pakkaus Järvinen Oy; FI; EUR | "
        "Kontor Løvås AS; NO; NOK"
    )
)

FIRST_NAMES = _w(
    "Ingrid | Lars | Åse | Øystein | Kari | Sindre | Märta | Björn | Søren | Mette | Jürgen | "
    "Lena | Małgorzata | Paweł | Anja | Jörg | Sigrid | Kåre | Łukasz | Agnieszka | Emil | "
    "Freja | Henrik | Sofie | Tomasz | Päivi | Mikko | Ulrike"
)
LAST_NAMES = _w(
    "Hansen | Johansen | Sørensen | Ødegaard | Lindqvist | Åberg | Müller | Schäfer | "
    "Kowalska | Wiśniewski | Nielsen | Berg | Dahl | Strøm | Jäger | Nowak | Larsen | Holm | "
    "Lehtinen | Brandt | Krüger | Eriksson | Bakke | Grünewald"
)

CRM_OWNERS: dict[str, tuple[str, ...]] = {
    "Oslo": ("Ingrid Ødegaard", "Sindre Bakke"),
    "Bergen": ("Kåre Strøm", "Sigrid Dahl"),
    "Copenhagen": ("Mette Sørensen", "Søren Holm"),
    "Stockholm": ("Märta Åberg", "Björn Eriksson"),
    "Berlin": ("Jürgen Grünewald", "Ulrike Brandt"),
    "Warsaw": ("Małgorzata Kowalska", "Łukasz Nowak"),
}
TEAMS_BY_COUNTRY: dict[str, tuple[str, ...]] = {
    "NO": ("Oslo", "Oslo", "Bergen"),
    "SE": ("Stockholm",),
    "DK": ("Copenhagen",),
    "DE": ("Berlin",),
    "AT": ("Berlin",),
    "FI": ("Stockholm",),
    "PL": ("Warsaw",),
}
SEGMENTS = _w("Industry | Retail | Public | Services")
CONTACT_ROLES = _w("CFO | Purchasing | Project manager | CEO | Accounts payable | IT lead")
ACTIVITY_SUBJECTS = {
    "call": _w("Follow-up on quote | Payment reminder | Delivery question | Intro call"),
    "meeting": _w("Quarterly review | Project kick-off | Site visit | Contract renewal"),
    "email": _w("Sent price list | Order confirmation | Invoice copy | Newsletter reply"),
}
PROJECT_TOPICS = _w(
    "Warehouse automation | ERP rollout | Maintenance contract | Line upgrade | "
    "Energy audit | Safety review | Data migration | Conveyor retrofit | Training | "
    "Control system | Site survey | Cold storage | Fleet telemetry | Packaging line"
)
WORK_DESCRIPTIONS = _w(
    "Design work | Installation | Commissioning | Meeting with client | Documentation | "
    "Testing | Travel time | Support | Planning | Code review | Site inspection | Workshop | "
    "Programming | Troubleshooting"
)
EXPENSE_DESCRIPTIONS = _w(
    "Train ticket | Flight | Hotel night | Taxi | Mileage | Per diem | Ferry | Parking"
)
# (name, unit, base price in EUR)
PRODUCT_CATALOGUE: tuple[tuple[str, Unit, float], ...] = tuple(
    _product(row)
    for row in _w(
        "Hydraulic pump HX-200; pcs; 1240.0 | "
        "Bearing unit 6205-2RS; pcs; 18.5 | "
        "Conveyor belt segment 1 m; pcs; 96.0 | "
        "Stainless bolt M12 (box); pcs; 34.9 | "
        "Control cabinet CC-4; pcs; 3890.0 | "
        "Frequency drive 7.5 kW; pcs; 1125.0 | "
        "Sensor kit Ø18; pcs; 212.0 | "
        "Cable tray 3 m; pcs; 41.0 | "
        "Safety relay SR-2; pcs; 148.0 | "
        "Gearbox GB-90; pcs; 2310.0 | "
        "Pallet rack bay; pcs; 455.0 | "
        'Touch panel 10"; pcs; 980.0 | '
        "Valve block VB-6; pcs; 640.0 | "
        "Air filter cartridge; pcs; 27.0 | "
        "Motor 4 kW IE3; pcs; 710.0 | "
        "PLC I/O module; pcs; 315.0 | "
        "Lubricant grease; kg; 14.2 | "
        "Steel profile S235; kg; 2.15 | "
        "Copper wire; kg; 11.8 | "
        "Granulate PP; kg; 1.92 | "
        "Aluminium sheet; kg; 4.35 | "
        "Epoxy resin; kg; 23.6 | "
        "Welding wire; kg; 6.4 | "
        "Polymer coating; kg; 17.9 | "
        "Engineering hour; h; 118.0 | "
        "Installation hour; h; 86.0 | "
        "Commissioning hour; h; 124.0 | "
        "Training hour; h; 95.0 | "
        "Support hour; h; 79.0 | "
        "Project management hour; h; 132.0 | "
        "Service kit S; pcs; 149.0 | "
        "Service kit L; pcs; 389.0 | "
        "Spare part set Ærø; pcs; 266.0 | "
        "Måleinstrument MX; pcs; 512.0 | "
        "Kühlaggregat KA-3; pcs; 4420.0 | "
        "Łącznik kablowy; pcs; 7.9 | "
        "Seal ring 40 mm; pcs; 3.1 | "
        'Chain drive 1/2"; pcs; 58.0 | '
        "LED fixture 60 W; pcs; 129.0 | "
        "Emergency stop button; pcs; 36.0 | "
        "Hose DN25 (m); pcs; 12.4 | "
        "Pneumatic cylinder 50/200; pcs; 188.0 | "
        "Castor wheel 125; pcs; 22.0 | "
        "Safety fence panel; pcs; 174.0 | "
        "Label printer; pcs; 690.0 | "
        "Scanner handheld; pcs; 415.0"
    )
)

_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "œ": "oe",
        "Œ": "OE",
    }
)
_NON_CODE = re.compile(r"[^A-Z0-9]")


def ascii_fold(text: str) -> str:
    """Return ``text`` with diacritics removed (ø→o, æ→ae, ü→u, ł→l, ß→ss), ASCII only."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def client_code_stem(name: str, max_len: int = 12) -> str:
    """Upper-case A-Z0-9 stem of a client code from the first word of ``name`` ("BJORNSTAD")."""
    first = name.split()[0] if name.split() else "CLIENT"
    stem = _NON_CODE.sub("", ascii_fold(first).upper())[:max_len]
    return stem or "CLIENT"


def unique_code(stem: str, taken: set[str]) -> str:
    """Return ``stem`` or ``stem2``, ``stem3``... whichever is not in ``taken``; records it."""
    code, n = stem, 1
    while code in taken:
        n += 1
        code = f"{stem}{n}"
    taken.add(code)
    return code


def company_name(rng: random.Random, profile: CountryProfile) -> str:
    """A plausible company name for ``profile``'s country ("Løvås Elektro AS")."""
    stem, trade = rng.choice(profile.stems), rng.choice(profile.trades)
    return f"{stem} {trade} {rng.choice(profile.legal_forms)}"


def person_name(rng: random.Random) -> str:
    """A person name drawn from Nordic, German and Polish first and last names."""
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def email_for(person: str, company: str) -> str:
    """An ASCII e-mail address for ``person`` at a domain derived from ``company``."""
    local = ".".join(ascii_fold(part).lower() for part in person.split())
    words = [ascii_fold(w).lower() for w in company.split()]
    domain = "".join(c for c in "".join(words[:2]) if c.isalnum()) or "example"
    return f"{local}@{domain}.example"


_LEGAL_SUFFIXES = (
    "Sp. z o.o.",
    "GmbH",
    "AS",
    "ASA",
    "AB",
    "A/S",
    "ApS",
    "AG",
    "KG",
    "S.A.",
    "Sp.k.",
    "Oy",
    "Oyj",
)


def strip_legal_form(name: str) -> str:
    """``name`` without its trailing legal form ("Müller & Söhne GmbH" → "Müller & Söhne")."""
    for suffix in _LEGAL_SUFFIXES:
        if name.endswith(" " + suffix):
            return name[: -len(suffix) - 1]
    return name


def crm_variant(rng: random.Random, name: str) -> str:
    """How a CRM user might have typed ``name``: often identical, sometimes not quite."""
    roll = rng.random()
    if roll < 0.65:
        return name
    if roll < 0.80:
        return strip_legal_form(name)
    if roll < 0.88:
        return name.replace("&", "og") if name.endswith(("AS", "ASA")) else name.replace("&", "und")
    if roll < 0.94:
        return name.upper()
    return f"{strip_legal_form(name)} (HQ)"
