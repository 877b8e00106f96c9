"""`eoi-bot import schools` with the Department for Education's establishment file (Get Information About Schools,
`edubasealldataYYYYMMDD.csv`), as an officer downloads it: about 150 columns, Windows-1252, every establishment in
England. The council's open mainstream schools are merged into its register by URN; its own columns stay."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from storage.models import AuditEntry, School
from tests.cli_db import use_test_database
from tests.conftest import NOW
from tests.conftest import TestDatabase as _TestDatabase

# The establishment file's header, in its order (the columns read, and the many that are not).
HEADER = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (code)",
    "TypeOfEstablishment (name)", "EstablishmentTypeGroup (code)", "EstablishmentTypeGroup (name)",
    "EstablishmentStatus (code)", "EstablishmentStatus (name)", "ReasonEstablishmentOpened (code)",
    "ReasonEstablishmentOpened (name)", "OpenDate", "ReasonEstablishmentClosed (code)",
    "ReasonEstablishmentClosed (name)", "CloseDate", "PhaseOfEducation (code)", "PhaseOfEducation (name)",
    "StatutoryLowAge", "StatutoryHighAge", "Boarders (code)", "Boarders (name)", "NurseryProvision (name)",
    "OfficialSixthForm (code)", "OfficialSixthForm (name)", "Gender (code)", "Gender (name)",
    "ReligiousCharacter (code)", "ReligiousCharacter (name)", "ReligiousEthos (name)", "Diocese (code)",
    "Diocese (name)", "AdmissionsPolicy (code)", "AdmissionsPolicy (name)", "SchoolCapacity", "SpecialClasses (code)",
    "SpecialClasses (name)", "CensusDate", "NumberOfPupils", "NumberOfBoys", "NumberOfGirls", "PercentageFSM",
    "TrustSchoolFlag (code)", "TrustSchoolFlag (name)", "Trusts (code)", "Trusts (name)", "SchoolSponsorFlag (name)",
    "SchoolSponsors (name)", "FederationFlag (name)", "Federations (code)", "Federations (name)", "UKPRN",
    "FEHEIdentifier", "FurtherEducationType (name)", "OfstedLastInsp", "LastChangedDate", "Street", "Locality",
    "Address3", "Town", "County (name)", "Postcode", "SchoolWebsite", "TelephoneNum", "HeadTitle (name)",
    "HeadFirstName", "HeadLastName", "HeadPreferredJobTitle", "BSOInspectorateName (name)", "InspectorateReport",
    "DateOfLastInspectionVisit", "NextInspectionVisit", "TeenMoth (name)", "TeenMothPlaces", "CCF (name)",
    "SENPRU (name)", "EBD (name)", "PlacesPRU", "FTProv (name)", "EdByOther (name)", "Section41Approved (name)",
    *(f"SEN{n} (name)" for n in range(1, 14)),
    "TypeOfResourcedProvision (name)", "ResourcedProvisionOnRoll", "ResourcedProvisionCapacity", "SenUnitOnRoll",
    "SenUnitCapacity", "GOR (code)", "GOR (name)", "DistrictAdministrative (code)", "DistrictAdministrative (name)",
    "AdministrativeWard (code)", "AdministrativeWard (name)", "ParliamentaryConstituency (code)",
    "ParliamentaryConstituency (name)", "UrbanRural (code)", "UrbanRural (name)", "GSSLACode (name)", "Easting",
    "Northing", "MSOA (name)", "LSOA (name)", "InspectorateName (name)", "SENStat", "SENNoStat",
    "BoardingEstablishment (name)", "PropsName", "PreviousLA (code)", "PreviousLA (name)",
    "PreviousEstablishmentNumber", "OfstedRating (name)", "RSCRegion (name)", "Country (name)", "UPRN", "SiteName",
    "QABName (code)", "QABName (name)", "EstablishmentAccredited (code)", "EstablishmentAccredited (name)",
    "QABReport", "CHNumber", "MSOA (code)", "LSOA (code)", "FSM", "AccreditationExpiryDate",
]  # fmt: skip

MAINTAINED, ACADEMIES = "Local authority maintained schools", "Academies"


def establishment(urn: str, name: str, **values: str) -> dict[str, str]:
    """A row as the file has it: every column there, most of them empty or beside the point."""
    row = dict.fromkeys(HEADER, "")
    row.update(
        {
            "URN": urn,
            "EstablishmentName": name,
            "LA (code)": "881",
            "LA (name)": "Essex",
            "EstablishmentStatus (name)": "Open",
            "EstablishmentTypeGroup (name)": MAINTAINED,
            "TypeOfEstablishment (name)": "Community school",
            "PhaseOfEducation (name)": "Primary",
            "StatutoryLowAge": "4",
            "StatutoryHighAge": "11",
            "DistrictAdministrative (name)": "Chelmsford",
            "GOR (name)": "East of England",
            "Country (name)": "United Kingdom",
            "Town": "Chelmsford",
            "Easting": "570000",
            "Northing": "206000",
            "PercentageFSM": "17.4",
            "LastChangedDate": "14-11-2026",
        }
    )
    row.update(values)
    return row


ROWS = [
    # On the council's register already (North East, Colchester, with its head's email): the facts change, the
    # council's own columns don't, though the national register puts it in another district.
    establishment(
        "114000", "Abbey Fields Primary School", NumberOfPupils="412", SchoolCapacity="420",
        **{"DistrictAdministrative (name)": "Tendring", "OfstedRating (name)": "Good", "OfstedLastInsp": "12-06-2023"},
        Postcode="co2 7aa",
    ),
    # New to the council: an academy in a trust, with a name and a head's name that aren't ASCII.
    establishment(
        "115123", "St Mary’s Church of England Primary School", NumberOfPupils="198", SchoolCapacity="210",
        **{
            "EstablishmentTypeGroup (name)": ACADEMIES, "TypeOfEstablishment (name)": "Academy converter",
            "Trusts (name)": "Chelmer Valley Learning Trust", "HeadTitle (name)": "Mrs", "HeadFirstName": "Siân",
            "HeadLastName": "O’Neill", "OfstedRating (name)": "Outstanding", "OfstedLastInsp": "05-03-2024",
        },
        Postcode="CM1 2AB",
    ),
    # Proposed to close but open: still the council's.
    establishment(
        "137999", "Maldon Road Academy", NumberOfPupils="880", SchoolCapacity="1150",
        **{
            "EstablishmentStatus (name)": "Open, but proposed to close", "EstablishmentTypeGroup (name)": ACADEMIES,
            "TypeOfEstablishment (name)": "Academy sponsor led", "PhaseOfEducation (name)": "Secondary",
            "StatutoryLowAge": "11", "StatutoryHighAge": "16", "DistrictAdministrative (name)": "Maldon",
        },
    ),
    # Left out, each for its own reason.
    establishment("100001", "Closed Lane Primary", **{"EstablishmentStatus (name)": "Closed", "CloseDate": "31-08-19"}),
    establishment("115200", "Southend Primary", **{"LA (code)": "882", "LA (name)": "Southend-on-Sea"}),
    establishment("115300", "Thurrock Primary", **{"LA (code)": "883", "LA (name)": "Thurrock"}),
    establishment("115400", "Oaks Special School", **{"EstablishmentTypeGroup (name)": "Special schools"}),
    establishment("115500", "Little Acorns Nursery School", **{"PhaseOfEducation (name)": "Nursery"}),
    establishment("115600", "Felsted Hall", **{"EstablishmentTypeGroup (name)": "Independent schools"}),
]  # fmt: skip


def establishment_file(path: Path, rows: list[dict[str, str]]) -> Path:
    """The file as it is published: every value quoted, CRLF line ends, Windows-1252."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=HEADER, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode("cp1252"))
    return path


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture
async def register(test_db: _TestDatabase, monkeypatch: pytest.MonkeyPatch) -> _TestDatabase:
    """The demo register (60 schools from 114000), as `eoi-bot` commands see it."""
    monkeypatch.delenv("EOI_LA_CODE", raising=False)
    await (await test_db.create(demo_at=NOW)).dispose()
    use_test_database(monkeypatch, test_db, NOW)
    return test_db


async def _schools(test_db: _TestDatabase) -> dict[str, School]:
    db = test_db.open()
    try:
        async with db.session() as session:
            return {s.urn: s for s in (await session.scalars(select(School))).all()}
    finally:
        await db.dispose()


async def test_the_councils_open_mainstream_schools_are_merged_from_the_national_register_keeping_its_columns(
    register: _TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await _schools(register)
    file = establishment_file(tmp_path / "edubasealldata20261207.csv", ROWS)
    assert len(HEADER) > 130 and "’".encode("cp1252") in file.read_bytes()  # as published: not UTF-8

    assert await cli("import", "schools", str(file)) == 0
    said = capsys.readouterr().out
    assert "Imported 3 open mainstream schools of local authority 881 from the national register." in said
    assert "2 of them new to the register, with no headteacher email yet" in said
    for left_out in (
        "left out: 1 closed or proposed",
        "left out: 2 of other local authorities",
        "left out: 2 not mainstream (special, independent, colleges and others)",
        "left out: 1 with no primary or secondary phase (nursery, 16 plus)",
    ):
        assert left_out in said, said

    after = await _schools(register)
    assert len(after) == len(before) + 2
    known, was = after["114000"], before["114000"]
    # The council's own columns, untouched; the national register's facts, taken.
    assert (known.quadrant, known.district, known.headteacher_email, known.headteacher_name) == (
        was.quadrant,
        was.district,
        was.headteacher_email,
        was.headteacher_name,
    )
    assert (known.name, known.pupils, known.capacity, known.postcode) == (
        "Abbey Fields Primary School",
        412,
        420,
        "CO2 7AA",
    )
    assert (known.ofsted_rating, known.ofsted_inspected, known.la_code) == ("Good", date(2023, 6, 12), "881")
    new = after["115123"]
    assert new.name == "St Mary’s Church of England Primary School" and new.headteacher_name == "Mrs Siân O’Neill"
    assert (new.quadrant, new.district, new.phase, new.headteacher_email) == ("Mid", "Chelmsford", "primary", "")
    assert (new.establishment_group, new.establishment_type, new.trust) == (
        "Academies",
        "Academy converter",
        "Chelmer Valley Learning Trust",
    )
    assert (new.statutory_low_age, new.statutory_high_age, new.ofsted_inspected) == (4, 11, date(2024, 3, 5))
    assert after["137999"].phase == "secondary" and after["137999"].quadrant == "Mid"
    for left_out in ("100001", "115200", "115300", "115400", "115500", "115600"):
        assert left_out not in after

    # The next month's file, imported again, changes only what changed.
    ROWS_NEXT = [dict(r, NumberOfPupils="415") if r["URN"] == "114000" else r for r in ROWS]
    assert await cli("import", "schools", str(establishment_file(tmp_path / "next.csv", ROWS_NEXT))) == 0
    assert "0 of them new" not in capsys.readouterr().out  # nothing new: not said
    again = await _schools(register)
    assert len(again) == len(after) and again["114000"].pupils == 415


async def _imports(test_db: _TestDatabase) -> int:
    db = test_db.open()
    try:
        async with db.session() as session:
            done = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "import schools")
            return int(await session.scalar(done) or 0)
    finally:
        await db.dispose()


async def test_a_malformed_national_register_names_the_line_and_column_and_imports_nothing(
    register: _TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, imports = await _schools(register), await _imports(register)
    bad = [ROWS[0], dict(ROWS[1], NumberOfPupils="about 200"), dict(ROWS[2], OfstedLastInsp="2024-03-05"), *ROWS[3:]]
    assert await cli("import", "schools", str(establishment_file(tmp_path / "bad.csv", bad))) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err
    assert "line 3, column NumberOfPupils: 'about 200' is not a whole number" in err
    assert "line 4, column OfstedLastInsp: '2024-03-05' is not a date written as dd-mm-yyyy" in err

    # A byte Windows-1252 has no character for: the file is not what the Department publishes.
    broken = establishment_file(tmp_path / "broken.csv", ROWS)
    broken.write_bytes(broken.read_bytes().replace("’".encode("cp1252"), b"\x81", 1))
    assert await cli("import", "schools", str(broken)) == 1
    assert "can't be read" in capsys.readouterr().err

    # Another authority's code with nothing of it in the file: said, not an empty success.
    # (EOI_LA_CODE is the council's own; Southend is 882.)
    assert await cli("import", "schools", str(establishment_file(tmp_path / "ok.csv", ROWS[3:4]))) == 1
    assert "no open mainstream school of local authority 881" in capsys.readouterr().err

    assert {u: (s.name, s.pupils) for u, s in (await _schools(register)).items()} == {
        u: (s.name, s.pupils) for u, s in before.items()
    }
    assert await _imports(register) == imports
