"""Addresses -> IANA time zones (adapters/time_zones.py): what a customer's postal address says about when
their morning is, and None whenever a guess could send reminders at night."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from adapters.time_zones import (
    CompanyZone,
    country_code,
    customer_zone,
    known_zones,
    region_code,
    zone_for_address,
)


@pytest.mark.parametrize(("written", "code"), [
    ("US", "US"), ("us", "US"), ("USA", "US"), ("U.S.A.", "US"), ("United States", "US"),
    ("United States of America", "US"), ("GB", "GB"), ("UK", "GB"), ("GBR", "GB"), ("United Kingdom", "GB"),
    ("Great Britain", "GB"), ("England", "GB"), ("Britain (UK)", "GB"), ("Deutschland", "DE"), ("DEU", "DE"),
    ("Germany", "DE"), ("España", "ES"), ("Brasil", "BR"), ("México", "MX"), ("Côte d'Ivoire", "CI"),
    ("Ivory Coast", "CI"), ("South Korea", "KR"), ("Korea (South)", "KR"), ("Korea", "KR"),
    ("Russian Federation", "RU"),
    ("The Netherlands", "NL"), ("Bosnia & Herzegovina", "BA"), ("Bosnia and Herzegovina", "BA"),
    ("St Lucia", "LC"), ("Saint Lucia", "LC"), ("BHR", "BH"), ("BGR", "BG"), ("GTM", "GT"), ("MAR", "MA"),
    ("SWZ", "SZ"), ("VUT", "VU"), ("  canada ", "CA"), ("New Zealand", "NZ"), ("Czechia", "CZ"),
])
def test_countries_are_read_from_codes_and_names(written: str, code: str) -> None:
    assert country_code(written) == code


@pytest.mark.parametrize("written", ["", "   ", None, "Atlantis", "XX", "ZZZ", "Springfield", "U"])
def test_what_is_no_country_we_know_is_none(written: str | None) -> None:
    assert country_code(written) is None


@pytest.mark.parametrize(("country", "region", "city", "zone", "how"), [
    # single-zone countries, whatever the region or city says
    ("GB", None, "London", "Europe/London", "country"),
    ("United Kingdom", "Scotland", "Edinburgh", "Europe/London", "country"),
    ("France", None, None, "Europe/Paris", "country"),
    ("JPN", "Tokyo", "Shibuya", "Asia/Tokyo", "country"),
    ("India", "Karnataka", "Bengaluru", "Asia/Kolkata", "country"),
    ("Ireland", None, "Dublin", "Europe/Dublin", "country"),
    ("Norway", None, None, "Europe/Oslo", "country"),
    ("Singapore", None, None, "Asia/Singapore", "country"),
    ("South Africa", "Gauteng", "Johannesburg", "Africa/Johannesburg", "country"),
    # United States, by state code or name, with the cities of split states
    ("USA", "CA", "Springfield", "America/Los_Angeles", "region CA"),
    ("US", "California", None, "America/Los_Angeles", "region CA"),
    ("United States", "NY", "New York", "America/New_York", "region NY"),
    ("US", "US-IL", "Chicago", "America/Chicago", "region IL"),
    ("US", "tx", "Austin", "America/Chicago", "region TX"),
    ("US", "TX", "El Paso", "America/Denver", "region TX, city El Paso"),
    ("US", "Florida", "Pensacola", "America/Chicago", "region FL, city Pensacola"),
    ("US", "FL", "Miami", "America/New_York", "region FL"),
    ("US", "AZ", "Phoenix", "America/Phoenix", "region AZ"),
    ("US", "IN", "Indianapolis", "America/Indiana/Indianapolis", "region IN"),
    ("US", "IN", "Gary", "America/Chicago", "region IN, city Gary"),
    ("US", "KY", "Louisville", "America/Kentucky/Louisville", "region KY, city Louisville"),
    ("US", "ID", "Coeur d'Alene", "America/Los_Angeles", "region ID, city Coeur d'Alene"),
    ("US", "HI", "Honolulu", "Pacific/Honolulu", "region HI"),
    ("US", "AK", "Juneau", "America/Juneau", "region AK, city Juneau"),
    ("US", "DC", "Washington", "America/New_York", "region DC"),
    ("US", "Washington DC", None, "America/New_York", "region DC"),
    ("US", "IL", "Marengo", "America/Chicago", "region IL"),  # not Indiana's Marengo
    ("US", "PR", "San Juan", "America/Puerto_Rico", "region PR"),
    ("US", None, "Los Angeles", "America/Los_Angeles", "city Los Angeles"),
    ("US", None, "San Francisco", "America/Los_Angeles", "city San Francisco"),
    # Canada
    ("Canada", "ON", "Toronto", "America/Toronto", "region ON"),
    ("CAN", "Québec", "Montréal", "America/Toronto", "region QC"),
    ("CA", "BC", "Vancouver", "America/Vancouver", "region BC"),
    ("CA", "British Columbia", "Dawson Creek", "America/Dawson_Creek", "region BC, city Dawson Creek"),
    ("CA", "Newfoundland", "St. John's", "America/St_Johns", "region NL"),
    ("CA", "SK", "Saskatoon", "America/Regina", "region SK"),
    ("CA", None, "Calgary", "America/Edmonton", "city Calgary"),
    # Australia
    ("Australia", "NSW", "Sydney", "Australia/Sydney", "region NSW"),
    ("AU", "New South Wales", "Broken Hill", "Australia/Broken_Hill", "region NSW, city Broken Hill"),
    ("AUS", "Western Australia", "Perth", "Australia/Perth", "region WA"),
    ("AU", "QLD", "Brisbane", "Australia/Brisbane", "region QLD"),
    ("AU", "ACT", "Canberra", "Australia/Sydney", "region ACT"),
    ("AU", None, "Darwin", "Australia/Darwin", "city Darwin"),
    # Brazil
    ("Brasil", "SP", "São Paulo", "America/Sao_Paulo", "region SP"),
    ("Brazil", "Amazonas", "Manaus", "America/Manaus", "region AM"),
    ("BR", "RJ", "Rio de Janeiro", "America/Sao_Paulo", "region RJ"),
    ("BR", "Pernambuco", "Fernando de Noronha", "America/Noronha", "region PE, city Fernando de Noronha"),
    ("BR", None, "Rio de Janeiro", "America/Sao_Paulo", "city Rio de Janeiro"),
    # Mexico
    ("MX", "Jalisco", "Guadalajara", "America/Mexico_City", "region JAL"),
    ("México", "CDMX", None, "America/Mexico_City", "region CMX"),
    ("Mexico", "Quintana Roo", "Cancún", "America/Cancun", "region ROO"),
    ("MEX", "BC", "Tijuana", "America/Tijuana", "region BCN"),
    ("MX", "Sonora", "Hermosillo", "America/Hermosillo", "region SON"),
    ("MX", "Chihuahua", "Ciudad Juárez", "America/Ciudad_Juarez", "region CHH, city Ciudad Juárez"),
    # other multi-zone countries: by city, else the main zone when there is one
    ("RU", None, "Novosibirsk", "Asia/Novosibirsk", "city Novosibirsk"),
    ("Russia", None, "Moscow", "Europe/Moscow", "city Moscow"),
    ("Russia", None, "Saint Petersburg", "Europe/Moscow", "city Saint Petersburg"),
    ("Russian Federation", "Primorsky Krai", "Vladivostok", "Asia/Vladivostok", "city Vladivostok"),
    ("Indonesia", None, "Jakarta", "Asia/Jakarta", "city Jakarta"),
    ("ID", "Bali", "Denpasar", "Asia/Makassar", "city Denpasar"),
    ("Spain", None, "Madrid", "Europe/Madrid", "city Madrid"),
    ("Spain", "Canarias", "Las Palmas de Gran Canaria", "Atlantic/Canary", "city Las Palmas de Gran Canaria"),
    ("ES", None, "Valencia", "Europe/Madrid", "country's main zone"),
    ("Portugal", None, "Funchal", "Atlantic/Madeira", "city Funchal"),
    ("PT", None, "Porto", "Europe/Lisbon", "country's main zone"),
    ("Germany", None, "Munich", "Europe/Berlin", "country's main zone"),
    ("China", None, "Beijing", "Asia/Shanghai", "country's main zone"),
    ("NZ", None, "Wellington", "Pacific/Auckland", "country's main zone"),
    ("Kazakhstan", None, None, "Asia/Almaty", "country's main zone"),
    ("Chile", None, "Santiago", "America/Santiago", "city Santiago"),
    ("Argentina", "Córdoba", "Córdoba", "America/Argentina/Cordoba", "city Córdoba"),
])
def test_addresses_give_their_zone(country: str, region: str | None, city: str | None, zone: str, how: str) -> None:
    assert zone_for_address(country, region, city) == (zone, how)


@pytest.mark.parametrize(("country", "region", "city"), [
    ("United States", None, None),  # six zones, no state
    ("US", None, "Springfield"),  # a Springfield in most states
    ("US", "XX", "Springfield"),  # no such state
    ("Canada", None, None),
    ("Australia", None, "Alice Springs"),
    ("Brazil", None, None),
    ("Mexico", None, "Nowhere"),
    ("Russia", None, None),
    ("RU", "Siberia", "Somewhere"),
    ("Indonesia", None, None),
    ("Congo (Dem. Rep.)", None, None),  # Kinshasa +1, Lubumbashi +2
    ("Kiribati", None, None),
    ("Antarctica", None, None),
    ("Atlantis", "Central", "Poseidonia"),
    ("", "CA", "Springfield"),  # no country: the region alone could be California or Cantabria
    (None, None, None),
    ("Bouvet Island", None, None),  # uninhabited: no zone at all
])
def test_ambiguous_or_unknown_addresses_give_none(country: str | None, region: str | None, city: str | None) -> None:
    assert zone_for_address(country, region, city) is None


def test_regions_are_read_from_codes_names_and_common_abbreviations() -> None:
    assert region_code("US", "ca") == "CA" and region_code("US", "US-CA") == "CA"
    assert region_code("US", "new york") == "NY" and region_code("US", "D.C.") == "DC"
    assert region_code("CA", "Québec") == "QC" and region_code("CA", "PQ") == "QC" and region_code("CA", "PEI") == "PE"
    assert region_code("AU", "Victoria") == "VIC" and region_code("AU", "vic") == "VIC"
    assert region_code("MX", "Nuevo León") == "NLE" and region_code("MX", "N.L.") == "NLE"
    assert region_code("BR", "São Paulo") == "SP" and region_code("BR", "Ceará") == "CE"
    assert region_code("US", "Ontario") is None and region_code("FR", "Bretagne") is None
    assert region_code("US", None) is None and region_code("US", " ") is None


def test_every_zone_the_tables_can_answer_loads() -> None:
    zones = known_zones()
    assert len(zones) > 400
    for zone in sorted(zones):
        ZoneInfo(zone)  # raises when the machine's tz database lacks it


def test_the_answer_is_the_same_every_time() -> None:
    address = ("USA", "TX", "El Paso")
    assert len({zone_for_address(*address) for _ in range(50)}) == 1


# --- the customer's zone as a ledger mapping asks for it --------------------------------------------------


LONDON = CompanyZone(zone="Europe/London")


def test_a_customer_zone_from_the_address_says_which_address() -> None:
    found = customer_zone("USA", "CA", "Springfield", LONDON)
    assert (found.zone, found.source, found.country) == ("America/Los_Angeles", "address: Springfield, CA, US", "US")


def test_no_zone_in_the_address_falls_back_to_the_company_zone_and_says_so() -> None:
    assert customer_zone(None, None, None, LONDON).source == "company zone Europe/London (no address)"
    vague = customer_zone("Russia", None, None, LONDON)
    assert (vague.zone, vague.source, vague.country) == (
        "Europe/London", "company zone Europe/London (address gives none: RU)", "RU")
    unknown = customer_zone("Atlantis", None, "Poseidonia", LONDON)
    assert (unknown.zone, unknown.country) == ("Europe/London", None)
    assert unknown.source == "company zone Europe/London (address gives none: Poseidonia, Atlantis)"


def test_a_region_without_a_country_is_read_in_the_company_country() -> None:
    company = CompanyZone(zone="America/New_York", country="US")
    found = customer_zone(None, "TX", "Austin", company)
    assert (found.zone, found.country) == ("America/Chicago", "US")
    assert found.source == "address: Austin, TX, US (country taken as the company's, US)"
    # ...but never when the address names a country, even one we do not know
    assert customer_zone("Atlantis", "TX", "Austin", company).zone == "America/New_York"


def test_without_any_company_zone_it_is_utc_said_out_loud() -> None:
    for company in (None, CompanyZone(zone=None, origin="QuickBooks CompanyInfo Country", country="US")):
        found = customer_zone("United States", None, None, company)
        assert found.zone == "UTC" and found.country == "US"
        assert found.source == ("UTC: address gives none: US, and the company's zone is unknown "
                                "(set DUECOURSE_COMPANY_TIME_ZONE)")


def test_a_configured_company_zone_is_checked_by_name() -> None:
    assert CompanyZone.configured(None) is None and CompanyZone.configured("  ") is None
    assert CompanyZone.configured(" Europe/Paris ") == CompanyZone(zone="Europe/Paris")
    for bad in ("Mars/Olympus", "Europe/london", "../etc/passwd"):
        with pytest.raises(ValueError, match=r"DUECOURSE_COMPANY_TIME_ZONE=.* is not an IANA time zone name"):
            CompanyZone.configured(bad)
