"""A customer's IANA time zone from their postal address: pure tables, no network, no I/O.

`zone_for_address(country, region, city)` answers `(zone, how)` or None:

* the country is read from an ISO 3166 alpha-2 or alpha-3 code or an English (or local) name ("US", "USA",
  "United States", "GB", "United Kingdom", "Deutschland"...); an unknown one gives None;
* a country with one zone answers it directly (how: "country");
* the United States, Canada, Australia, Brazil and Mexico are read by state or province (code or name),
  with the cities of split states and provinces that keep another zone (El Paso, Pensacola, Broken Hill...)
  (how: "region CA" or "region TX, city El Paso");
* any other country with several zones (Russia, Indonesia, Kazakhstan...) is read by the city when the city
  names one of its zones or is a known city of one (how: "city Novosibirsk"), else by the country's main
  zone when that one zone is where nearly all of it lives (Spain: Europe/Madrid; how: "country's main
  zone"), else None: Russia, Indonesia or a US address without a state are ambiguous, and a guess would send
  reminders at night.

The country and zone tables were taken from the IANA time zone database (iso3166.tab, zone.tab, 2025b),
the alpha-3 codes from ISO 3166-1; `tests/adapters/test_time_zones.py` checks every zone here loads.
`customer_zone` is what the ledger mappings call: the address's zone, else the company's own, else UTC, and
always a sentence saying which.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _pairs(table: str) -> dict[str, str]:
    """"KEY:Value_with_underscores KEY2:..." -> {"KEY": "Value with underscores", ...}."""
    return {key: value.replace("_", " ") for key, _, value in (item.partition(":") for item in table.split())}


# ISO 3166 alpha-3 -> alpha-2.
_ALPHA3 = _pairs("""
ABW:AW AFG:AF AGO:AO AIA:AI ALA:AX ALB:AL AND:AD ARE:AE ARG:AR ARM:AM ASM:AS ATA:AQ ATF:TF ATG:AG AUS:AU AUT:AT AZE:AZ
BHR:BH BDI:BI BEL:BE BEN:BJ BES:BQ BFA:BF BGD:BD BHS:BS BIH:BA BGR:BG BLM:BL BLR:BY BLZ:BZ BMU:BM BOL:BO BRA:BR BRB:BB
BRN:BN BTN:BT BVT:BV BWA:BW CAF:CF CAN:CA CCK:CC CHE:CH CHL:CL CHN:CN CIV:CI CMR:CM COD:CD COG:CG COK:CK COL:CO COM:KM
CPV:CV CRI:CR CUB:CU CUW:CW CXR:CX CYM:KY CYP:CY CZE:CZ DEU:DE DJI:DJ DMA:DM DNK:DK DOM:DO DZA:DZ ECU:EC EGY:EG ERI:ER
ESH:EH ESP:ES EST:EE ETH:ET FIN:FI FJI:FJ FLK:FK FRA:FR FRO:FO FSM:FM GAB:GA GBR:GB GEO:GE GGY:GG GHA:GH GIB:GI GIN:GN
GLP:GP GMB:GM GNB:GW GNQ:GQ GRC:GR GRD:GD GRL:GL GTM:GT GUF:GF GUM:GU GUY:GY HKG:HK HMD:HM HND:HN HRV:HR HTI:HT HUN:HU
IDN:ID IMN:IM IND:IN IOT:IO IRL:IE IRN:IR IRQ:IQ ISL:IS ISR:IL ITA:IT JAM:JM JEY:JE JOR:JO JPN:JP KAZ:KZ KEN:KE KGZ:KG
KHM:KH KIR:KI KNA:KN KOR:KR KWT:KW LAO:LA LBN:LB LBR:LR LBY:LY LCA:LC LIE:LI LKA:LK LSO:LS LTU:LT LUX:LU LVA:LV MAC:MO
MAF:MF MCO:MC MDA:MD MDG:MG MDV:MV MEX:MX MHL:MH MKD:MK MLI:ML MLT:MT MMR:MM MNE:ME MNG:MN MNP:MP MAR:MA MOZ:MZ MRT:MR
MSR:MS MTQ:MQ MUS:MU MWI:MW MYS:MY MYT:YT NAM:NA NCL:NC NER:NE NFK:NF NGA:NG NIC:NI NIU:NU NLD:NL NOR:NO NPL:NP NRU:NR
NZL:NZ OMN:OM PAK:PK PAN:PA PCN:PN PER:PE PHL:PH PLW:PW PNG:PG POL:PL PRI:PR PRK:KP PRT:PT PRY:PY PSE:PS PYF:PF QAT:QA
REU:RE ROU:RO RUS:RU RWA:RW SAU:SA SDN:SD SEN:SN SGP:SG SGS:GS SHN:SH SJM:SJ SLB:SB SLE:SL SLV:SV SMR:SM SOM:SO SPM:PM
SRB:RS SSD:SS STP:ST SUR:SR SVK:SK SVN:SI SWE:SE SXM:SX SYC:SC SYR:SY SWZ:SZ TCA:TC TCD:TD TGO:TG THA:TH TJK:TJ TKL:TK
TKM:TM TLS:TL TON:TO TTO:TT TUN:TN TUR:TR TUV:TV TWN:TW TZA:TZ UGA:UG UKR:UA UMI:UM URY:UY USA:US UZB:UZ VAT:VA VCT:VC
VEN:VE VGB:VG VIR:VI VNM:VN VUT:VU WLF:WF WSM:WS YEM:YE ZAF:ZA ZMB:ZM ZWE:ZW
""")
# ISO 3166 alpha-2 -> English short name (as the IANA iso3166.tab words it).
_NAMES = _pairs("""
AD:Andorra AE:United_Arab_Emirates AF:Afghanistan AG:Antigua_&_Barbuda AI:Anguilla AL:Albania AM:Armenia AO:Angola
AQ:Antarctica AR:Argentina AS:Samoa_(American) AT:Austria AU:Australia AW:Aruba AX:Åland_Islands AZ:Azerbaijan
BA:Bosnia_&_Herzegovina BB:Barbados BD:Bangladesh BE:Belgium BF:Burkina_Faso BG:Bulgaria BH:Bahrain BI:Burundi
BJ:Benin BL:St_Barthelemy BM:Bermuda BN:Brunei BO:Bolivia BQ:Caribbean_NL BR:Brazil BS:Bahamas BT:Bhutan
BV:Bouvet_Island BW:Botswana BY:Belarus BZ:Belize CA:Canada CC:Cocos_(Keeling)_Islands CD:Congo_(Dem._Rep.)
CF:Central_African_Rep. CG:Congo_(Rep.) CH:Switzerland CI:Côte_d'Ivoire CK:Cook_Islands CL:Chile CM:Cameroon CN:China
CO:Colombia CR:Costa_Rica CU:Cuba CV:Cape_Verde CW:Curaçao CX:Christmas_Island CY:Cyprus CZ:Czech_Republic DE:Germany
DJ:Djibouti DK:Denmark DM:Dominica DO:Dominican_Republic DZ:Algeria EC:Ecuador EE:Estonia EG:Egypt EH:Western_Sahara
ER:Eritrea ES:Spain ET:Ethiopia FI:Finland FJ:Fiji FK:Falkland_Islands FM:Micronesia FO:Faroe_Islands FR:France
GA:Gabon GB:Britain_(UK) GD:Grenada GE:Georgia GF:French_Guiana GG:Guernsey GH:Ghana GI:Gibraltar GL:Greenland
GM:Gambia GN:Guinea GP:Guadeloupe GQ:Equatorial_Guinea GR:Greece GS:South_Georgia_&_the_South_Sandwich_Islands
GT:Guatemala GU:Guam GW:Guinea-Bissau GY:Guyana HK:Hong_Kong HM:Heard_Island_&_McDonald_Islands HN:Honduras HR:Croatia
HT:Haiti HU:Hungary ID:Indonesia IE:Ireland IL:Israel IM:Isle_of_Man IN:India IO:British_Indian_Ocean_Territory
IQ:Iraq IR:Iran IS:Iceland IT:Italy JE:Jersey JM:Jamaica JO:Jordan JP:Japan KE:Kenya KG:Kyrgyzstan KH:Cambodia
KI:Kiribati KM:Comoros KN:St_Kitts_&_Nevis KP:Korea_(North) KR:Korea_(South) KW:Kuwait KY:Cayman_Islands KZ:Kazakhstan
LA:Laos LB:Lebanon LC:St_Lucia LI:Liechtenstein LK:Sri_Lanka LR:Liberia LS:Lesotho LT:Lithuania LU:Luxembourg
LV:Latvia LY:Libya MA:Morocco MC:Monaco MD:Moldova ME:Montenegro MF:St_Martin_(French) MG:Madagascar
MH:Marshall_Islands MK:North_Macedonia ML:Mali MM:Myanmar_(Burma) MN:Mongolia MO:Macau MP:Northern_Mariana_Islands
MQ:Martinique MR:Mauritania MS:Montserrat MT:Malta MU:Mauritius MV:Maldives MW:Malawi MX:Mexico MY:Malaysia
MZ:Mozambique NA:Namibia NC:New_Caledonia NE:Niger NF:Norfolk_Island NG:Nigeria NI:Nicaragua NL:Netherlands NO:Norway
NP:Nepal NR:Nauru NU:Niue NZ:New_Zealand OM:Oman PA:Panama PE:Peru PF:French_Polynesia PG:Papua_New_Guinea
PH:Philippines PK:Pakistan PL:Poland PM:St_Pierre_&_Miquelon PN:Pitcairn PR:Puerto_Rico PS:Palestine PT:Portugal
PW:Palau PY:Paraguay QA:Qatar RE:Réunion RO:Romania RS:Serbia RU:Russia RW:Rwanda SA:Saudi_Arabia SB:Solomon_Islands
SC:Seychelles SD:Sudan SE:Sweden SG:Singapore SH:St_Helena SI:Slovenia SJ:Svalbard_&_Jan_Mayen SK:Slovakia
SL:Sierra_Leone SM:San_Marino SN:Senegal SO:Somalia SR:Suriname SS:South_Sudan ST:Sao_Tome_&_Principe SV:El_Salvador
SX:St_Maarten_(Dutch) SY:Syria SZ:Eswatini_(Swaziland) TC:Turks_&_Caicos_Is TD:Chad TF:French_S._Terr. TG:Togo
TH:Thailand TJ:Tajikistan TK:Tokelau TL:East_Timor TM:Turkmenistan TN:Tunisia TO:Tonga TR:Turkey TT:Trinidad_&_Tobago
TV:Tuvalu TW:Taiwan TZ:Tanzania UA:Ukraine UG:Uganda UM:US_minor_outlying_islands US:United_States UY:Uruguay
UZ:Uzbekistan VA:Vatican_City VC:St_Vincent VE:Venezuela VG:Virgin_Islands_(UK) VI:Virgin_Islands_(US) VN:Vietnam
VU:Vanuatu WF:Wallis_&_Futuna WS:Samoa_(western) YE:Yemen YT:Mayotte ZA:South_Africa ZM:Zambia ZW:Zimbabwe
""")
# ISO 3166 alpha-2 -> its IANA zones (zone.tab, one line per country and zone; the first is the most populous
# region's). BV and HM (uninhabited) have none.
_ZONES = {
    "AD": ("Europe/Andorra",),
    "AE": ("Asia/Dubai",),
    "AF": ("Asia/Kabul",),
    "AG": ("America/Antigua",),
    "AI": ("America/Anguilla",),
    "AL": ("Europe/Tirane",),
    "AM": ("Asia/Yerevan",),
    "AO": ("Africa/Luanda",),
    "AQ": (
        "Antarctica/McMurdo", "Antarctica/Casey", "Antarctica/Davis", "Antarctica/DumontDUrville",
        "Antarctica/Mawson", "Antarctica/Palmer", "Antarctica/Rothera", "Antarctica/Syowa",
        "Antarctica/Troll", "Antarctica/Vostok"),
    "AR": (
        "America/Argentina/Buenos_Aires", "America/Argentina/Cordoba", "America/Argentina/Salta",
        "America/Argentina/Jujuy", "America/Argentina/Tucuman", "America/Argentina/Catamarca",
        "America/Argentina/La_Rioja", "America/Argentina/San_Juan", "America/Argentina/Mendoza",
        "America/Argentina/San_Luis", "America/Argentina/Rio_Gallegos", "America/Argentina/Ushuaia"),
    "AS": ("Pacific/Pago_Pago",),
    "AT": ("Europe/Vienna",),
    "AU": (
        "Australia/Lord_Howe", "Antarctica/Macquarie", "Australia/Hobart", "Australia/Melbourne",
        "Australia/Sydney", "Australia/Broken_Hill", "Australia/Brisbane", "Australia/Lindeman",
        "Australia/Adelaide", "Australia/Darwin", "Australia/Perth", "Australia/Eucla"),
    "AW": ("America/Aruba",),
    "AX": ("Europe/Mariehamn",),
    "AZ": ("Asia/Baku",),
    "BA": ("Europe/Sarajevo",),
    "BB": ("America/Barbados",),
    "BD": ("Asia/Dhaka",),
    "BE": ("Europe/Brussels",),
    "BF": ("Africa/Ouagadougou",),
    "BG": ("Europe/Sofia",),
    "BH": ("Asia/Bahrain",),
    "BI": ("Africa/Bujumbura",),
    "BJ": ("Africa/Porto-Novo",),
    "BL": ("America/St_Barthelemy",),
    "BM": ("Atlantic/Bermuda",),
    "BN": ("Asia/Brunei",),
    "BO": ("America/La_Paz",),
    "BQ": ("America/Kralendijk",),
    "BR": (
        "America/Noronha", "America/Belem", "America/Fortaleza", "America/Recife", "America/Araguaina",
        "America/Maceio", "America/Bahia", "America/Sao_Paulo", "America/Campo_Grande", "America/Cuiaba",
        "America/Santarem", "America/Porto_Velho", "America/Boa_Vista", "America/Manaus", "America/Eirunepe",
        "America/Rio_Branco"),
    "BS": ("America/Nassau",),
    "BT": ("Asia/Thimphu",),
    "BW": ("Africa/Gaborone",),
    "BY": ("Europe/Minsk",),
    "BZ": ("America/Belize",),
    "CA": (
        "America/St_Johns", "America/Halifax", "America/Glace_Bay", "America/Moncton", "America/Goose_Bay",
        "America/Blanc-Sablon", "America/Toronto", "America/Iqaluit", "America/Atikokan", "America/Winnipeg",
        "America/Resolute", "America/Rankin_Inlet", "America/Regina", "America/Swift_Current",
        "America/Edmonton", "America/Cambridge_Bay", "America/Inuvik", "America/Creston",
        "America/Dawson_Creek", "America/Fort_Nelson", "America/Whitehorse", "America/Dawson",
        "America/Vancouver"),
    "CC": ("Indian/Cocos",),
    "CD": ("Africa/Kinshasa", "Africa/Lubumbashi"),
    "CF": ("Africa/Bangui",),
    "CG": ("Africa/Brazzaville",),
    "CH": ("Europe/Zurich",),
    "CI": ("Africa/Abidjan",),
    "CK": ("Pacific/Rarotonga",),
    "CL": ("America/Santiago", "America/Coyhaique", "America/Punta_Arenas", "Pacific/Easter"),
    "CM": ("Africa/Douala",),
    "CN": ("Asia/Shanghai", "Asia/Urumqi"),
    "CO": ("America/Bogota",),
    "CR": ("America/Costa_Rica",),
    "CU": ("America/Havana",),
    "CV": ("Atlantic/Cape_Verde",),
    "CW": ("America/Curacao",),
    "CX": ("Indian/Christmas",),
    "CY": ("Asia/Nicosia", "Asia/Famagusta"),
    "CZ": ("Europe/Prague",),
    "DE": ("Europe/Berlin", "Europe/Busingen"),
    "DJ": ("Africa/Djibouti",),
    "DK": ("Europe/Copenhagen",),
    "DM": ("America/Dominica",),
    "DO": ("America/Santo_Domingo",),
    "DZ": ("Africa/Algiers",),
    "EC": ("America/Guayaquil", "Pacific/Galapagos"),
    "EE": ("Europe/Tallinn",),
    "EG": ("Africa/Cairo",),
    "EH": ("Africa/El_Aaiun",),
    "ER": ("Africa/Asmara",),
    "ES": ("Europe/Madrid", "Africa/Ceuta", "Atlantic/Canary"),
    "ET": ("Africa/Addis_Ababa",),
    "FI": ("Europe/Helsinki",),
    "FJ": ("Pacific/Fiji",),
    "FK": ("Atlantic/Stanley",),
    "FM": ("Pacific/Chuuk", "Pacific/Pohnpei", "Pacific/Kosrae"),
    "FO": ("Atlantic/Faroe",),
    "FR": ("Europe/Paris",),
    "GA": ("Africa/Libreville",),
    "GB": ("Europe/London",),
    "GD": ("America/Grenada",),
    "GE": ("Asia/Tbilisi",),
    "GF": ("America/Cayenne",),
    "GG": ("Europe/Guernsey",),
    "GH": ("Africa/Accra",),
    "GI": ("Europe/Gibraltar",),
    "GL": ("America/Nuuk", "America/Danmarkshavn", "America/Scoresbysund", "America/Thule"),
    "GM": ("Africa/Banjul",),
    "GN": ("Africa/Conakry",),
    "GP": ("America/Guadeloupe",),
    "GQ": ("Africa/Malabo",),
    "GR": ("Europe/Athens",),
    "GS": ("Atlantic/South_Georgia",),
    "GT": ("America/Guatemala",),
    "GU": ("Pacific/Guam",),
    "GW": ("Africa/Bissau",),
    "GY": ("America/Guyana",),
    "HK": ("Asia/Hong_Kong",),
    "HN": ("America/Tegucigalpa",),
    "HR": ("Europe/Zagreb",),
    "HT": ("America/Port-au-Prince",),
    "HU": ("Europe/Budapest",),
    "ID": ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"),
    "IE": ("Europe/Dublin",),
    "IL": ("Asia/Jerusalem",),
    "IM": ("Europe/Isle_of_Man",),
    "IN": ("Asia/Kolkata",),
    "IO": ("Indian/Chagos",),
    "IQ": ("Asia/Baghdad",),
    "IR": ("Asia/Tehran",),
    "IS": ("Atlantic/Reykjavik",),
    "IT": ("Europe/Rome",),
    "JE": ("Europe/Jersey",),
    "JM": ("America/Jamaica",),
    "JO": ("Asia/Amman",),
    "JP": ("Asia/Tokyo",),
    "KE": ("Africa/Nairobi",),
    "KG": ("Asia/Bishkek",),
    "KH": ("Asia/Phnom_Penh",),
    "KI": ("Pacific/Tarawa", "Pacific/Kanton", "Pacific/Kiritimati"),
    "KM": ("Indian/Comoro",),
    "KN": ("America/St_Kitts",),
    "KP": ("Asia/Pyongyang",),
    "KR": ("Asia/Seoul",),
    "KW": ("Asia/Kuwait",),
    "KY": ("America/Cayman",),
    "KZ": ("Asia/Almaty", "Asia/Qyzylorda", "Asia/Qostanay", "Asia/Aqtobe", "Asia/Aqtau", "Asia/Atyrau", "Asia/Oral"),
    "LA": ("Asia/Vientiane",),
    "LB": ("Asia/Beirut",),
    "LC": ("America/St_Lucia",),
    "LI": ("Europe/Vaduz",),
    "LK": ("Asia/Colombo",),
    "LR": ("Africa/Monrovia",),
    "LS": ("Africa/Maseru",),
    "LT": ("Europe/Vilnius",),
    "LU": ("Europe/Luxembourg",),
    "LV": ("Europe/Riga",),
    "LY": ("Africa/Tripoli",),
    "MA": ("Africa/Casablanca",),
    "MC": ("Europe/Monaco",),
    "MD": ("Europe/Chisinau",),
    "ME": ("Europe/Podgorica",),
    "MF": ("America/Marigot",),
    "MG": ("Indian/Antananarivo",),
    "MH": ("Pacific/Majuro", "Pacific/Kwajalein"),
    "MK": ("Europe/Skopje",),
    "ML": ("Africa/Bamako",),
    "MM": ("Asia/Yangon",),
    "MN": ("Asia/Ulaanbaatar", "Asia/Hovd"),
    "MO": ("Asia/Macau",),
    "MP": ("Pacific/Saipan",),
    "MQ": ("America/Martinique",),
    "MR": ("Africa/Nouakchott",),
    "MS": ("America/Montserrat",),
    "MT": ("Europe/Malta",),
    "MU": ("Indian/Mauritius",),
    "MV": ("Indian/Maldives",),
    "MW": ("Africa/Blantyre",),
    "MX": (
        "America/Mexico_City", "America/Cancun", "America/Merida", "America/Monterrey", "America/Matamoros",
        "America/Chihuahua", "America/Ciudad_Juarez", "America/Ojinaga", "America/Mazatlan",
        "America/Bahia_Banderas", "America/Hermosillo", "America/Tijuana"),
    "MY": ("Asia/Kuala_Lumpur", "Asia/Kuching"),
    "MZ": ("Africa/Maputo",),
    "NA": ("Africa/Windhoek",),
    "NC": ("Pacific/Noumea",),
    "NE": ("Africa/Niamey",),
    "NF": ("Pacific/Norfolk",),
    "NG": ("Africa/Lagos",),
    "NI": ("America/Managua",),
    "NL": ("Europe/Amsterdam",),
    "NO": ("Europe/Oslo",),
    "NP": ("Asia/Kathmandu",),
    "NR": ("Pacific/Nauru",),
    "NU": ("Pacific/Niue",),
    "NZ": ("Pacific/Auckland", "Pacific/Chatham"),
    "OM": ("Asia/Muscat",),
    "PA": ("America/Panama",),
    "PE": ("America/Lima",),
    "PF": ("Pacific/Tahiti", "Pacific/Marquesas", "Pacific/Gambier"),
    "PG": ("Pacific/Port_Moresby", "Pacific/Bougainville"),
    "PH": ("Asia/Manila",),
    "PK": ("Asia/Karachi",),
    "PL": ("Europe/Warsaw",),
    "PM": ("America/Miquelon",),
    "PN": ("Pacific/Pitcairn",),
    "PR": ("America/Puerto_Rico",),
    "PS": ("Asia/Gaza", "Asia/Hebron"),
    "PT": ("Europe/Lisbon", "Atlantic/Madeira", "Atlantic/Azores"),
    "PW": ("Pacific/Palau",),
    "PY": ("America/Asuncion",),
    "QA": ("Asia/Qatar",),
    "RE": ("Indian/Reunion",),
    "RO": ("Europe/Bucharest",),
    "RS": ("Europe/Belgrade",),
    "RU": (
        "Europe/Kaliningrad", "Europe/Moscow", "Europe/Kirov", "Europe/Volgograd", "Europe/Astrakhan",
        "Europe/Saratov", "Europe/Ulyanovsk", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
        "Asia/Novosibirsk", "Asia/Barnaul", "Asia/Tomsk", "Asia/Novokuznetsk", "Asia/Krasnoyarsk",
        "Asia/Irkutsk", "Asia/Chita", "Asia/Yakutsk", "Asia/Khandyga", "Asia/Vladivostok", "Asia/Ust-Nera",
        "Asia/Magadan", "Asia/Sakhalin", "Asia/Srednekolymsk", "Asia/Kamchatka", "Asia/Anadyr"),
    "RW": ("Africa/Kigali",),
    "SA": ("Asia/Riyadh",),
    "SB": ("Pacific/Guadalcanal",),
    "SC": ("Indian/Mahe",),
    "SD": ("Africa/Khartoum",),
    "SE": ("Europe/Stockholm",),
    "SG": ("Asia/Singapore",),
    "SH": ("Atlantic/St_Helena",),
    "SI": ("Europe/Ljubljana",),
    "SJ": ("Arctic/Longyearbyen",),
    "SK": ("Europe/Bratislava",),
    "SL": ("Africa/Freetown",),
    "SM": ("Europe/San_Marino",),
    "SN": ("Africa/Dakar",),
    "SO": ("Africa/Mogadishu",),
    "SR": ("America/Paramaribo",),
    "SS": ("Africa/Juba",),
    "ST": ("Africa/Sao_Tome",),
    "SV": ("America/El_Salvador",),
    "SX": ("America/Lower_Princes",),
    "SY": ("Asia/Damascus",),
    "SZ": ("Africa/Mbabane",),
    "TC": ("America/Grand_Turk",),
    "TD": ("Africa/Ndjamena",),
    "TF": ("Indian/Kerguelen",),
    "TG": ("Africa/Lome",),
    "TH": ("Asia/Bangkok",),
    "TJ": ("Asia/Dushanbe",),
    "TK": ("Pacific/Fakaofo",),
    "TL": ("Asia/Dili",),
    "TM": ("Asia/Ashgabat",),
    "TN": ("Africa/Tunis",),
    "TO": ("Pacific/Tongatapu",),
    "TR": ("Europe/Istanbul",),
    "TT": ("America/Port_of_Spain",),
    "TV": ("Pacific/Funafuti",),
    "TW": ("Asia/Taipei",),
    "TZ": ("Africa/Dar_es_Salaam",),
    "UA": ("Europe/Simferopol", "Europe/Kyiv"),
    "UG": ("Africa/Kampala",),
    "UM": ("Pacific/Midway", "Pacific/Wake"),
    "US": (
        "America/New_York", "America/Detroit", "America/Kentucky/Louisville", "America/Kentucky/Monticello",
        "America/Indiana/Indianapolis", "America/Indiana/Vincennes", "America/Indiana/Winamac",
        "America/Indiana/Marengo", "America/Indiana/Petersburg", "America/Indiana/Vevay", "America/Chicago",
        "America/Indiana/Tell_City", "America/Indiana/Knox", "America/Menominee",
        "America/North_Dakota/Center", "America/North_Dakota/New_Salem", "America/North_Dakota/Beulah",
        "America/Denver", "America/Boise", "America/Phoenix", "America/Los_Angeles", "America/Anchorage",
        "America/Juneau", "America/Sitka", "America/Metlakatla", "America/Yakutat", "America/Nome",
        "America/Adak", "Pacific/Honolulu"),
    "UY": ("America/Montevideo",),
    "UZ": ("Asia/Samarkand", "Asia/Tashkent"),
    "VA": ("Europe/Vatican",),
    "VC": ("America/St_Vincent",),
    "VE": ("America/Caracas",),
    "VG": ("America/Tortola",),
    "VI": ("America/St_Thomas",),
    "VN": ("Asia/Ho_Chi_Minh",),
    "VU": ("Pacific/Efate",),
    "WF": ("Pacific/Wallis",),
    "WS": ("Pacific/Apia",),
    "YE": ("Asia/Aden",),
    "YT": ("Indian/Mayotte",),
    "ZA": ("Africa/Johannesburg",),
    "ZM": ("Africa/Lusaka",),
    "ZW": ("Africa/Harare",),
}

# Other names people write for countries (normalised as `_norm` does), beyond the codes and the IANA names.
_ALIASES = {
    "united states of america": "US", "united states": "US", "america": "US", "u s": "US", "u s a": "US",
    "estados unidos": "US", "etats unis": "US", "vereinigte staaten": "US",
    "united kingdom": "GB", "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "deutschland": "DE", "federal republic of germany": "DE", "espana": "ES", "brasil": "BR", "mexico": "MX",
    "estados unidos mexicanos": "MX", "the netherlands": "NL", "holland": "NL", "nederland": "NL",
    "schweiz": "CH", "suisse": "CH", "svizzera": "CH", "osterreich": "AT", "belgique": "BE", "belgie": "BE",
    "italia": "IT", "polska": "PL", "sverige": "SE", "norge": "NO", "danmark": "DK", "suomi": "FI",
    "eire": "IE", "republic of ireland": "IE", "nippon": "JP", "south korea": "KR", "republic of korea": "KR",
    "korea": "KR", "north korea": "KP", "russian federation": "RU", "rossiya": "RU", "czech republic": "CZ",
    "czechia": "CZ",
    "viet nam": "VN", "uae": "AE", "the uae": "AE", "ivory coast": "CI", "cote divoire": "CI",
    "turkiye": "TR", "burma": "MM", "swaziland": "SZ", "macedonia": "MK", "east timor": "TL",
    "democratic republic of the congo": "CD", "dr congo": "CD", "drc": "CD", "republic of the congo": "CG",
    "congo": "CG", "peoples republic of china": "CN", "prc": "CN", "hong kong sar": "HK", "macao": "MO",
    "republic of china": "TW", "bosnia and herzegovina": "BA", "trinidad and tobago": "TT",
    "antigua and barbuda": "AG", "saint kitts and nevis": "KN", "saint lucia": "LC",
    "saint vincent and the grenadines": "VC", "sao tome and principe": "ST", "turks and caicos islands": "TC",
    "british virgin islands": "VG", "us virgin islands": "VI", "american samoa": "AS", "samoa": "WS",
    "central african republic": "CF", "vatican city": "VA", "holy see": "VA", "palestine": "PS",
    "new zealand aotearoa": "NZ", "aotearoa": "NZ", "kingdom of saudi arabia": "SA", "ksa": "SA",
}

# Countries with several zones in which one zone is where nearly everyone lives and does business.
_MAIN_ZONES = {
    "AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago", "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia", "DE": "Europe/Berlin", "EC": "America/Guayaquil", "ES": "Europe/Madrid",
    "GL": "America/Nuuk", "KZ": "Asia/Almaty", "MH": "Pacific/Majuro", "MN": "Asia/Ulaanbaatar",
    "MY": "Asia/Kuala_Lumpur", "NZ": "Pacific/Auckland", "PF": "Pacific/Tahiti", "PG": "Pacific/Port_Moresby",
    "PT": "Europe/Lisbon", "UA": "Europe/Kyiv", "UZ": "Asia/Tashkent",
}

# Regions (states, provinces, territories): country -> code -> (name, zone).
_REGIONS: dict[str, dict[str, tuple[str, str]]] = {
    "US": {
        "AL": ("Alabama", "America/Chicago"), "AK": ("Alaska", "America/Anchorage"),
        "AZ": ("Arizona", "America/Phoenix"), "AR": ("Arkansas", "America/Chicago"),
        "CA": ("California", "America/Los_Angeles"), "CO": ("Colorado", "America/Denver"),
        "CT": ("Connecticut", "America/New_York"), "DE": ("Delaware", "America/New_York"),
        "DC": ("District of Columbia", "America/New_York"), "FL": ("Florida", "America/New_York"),
        "GA": ("Georgia", "America/New_York"), "HI": ("Hawaii", "Pacific/Honolulu"),
        "ID": ("Idaho", "America/Boise"), "IL": ("Illinois", "America/Chicago"),
        "IN": ("Indiana", "America/Indiana/Indianapolis"), "IA": ("Iowa", "America/Chicago"),
        "KS": ("Kansas", "America/Chicago"), "KY": ("Kentucky", "America/New_York"),
        "LA": ("Louisiana", "America/Chicago"), "ME": ("Maine", "America/New_York"),
        "MD": ("Maryland", "America/New_York"), "MA": ("Massachusetts", "America/New_York"),
        "MI": ("Michigan", "America/Detroit"), "MN": ("Minnesota", "America/Chicago"),
        "MS": ("Mississippi", "America/Chicago"), "MO": ("Missouri", "America/Chicago"),
        "MT": ("Montana", "America/Denver"), "NE": ("Nebraska", "America/Chicago"),
        "NV": ("Nevada", "America/Los_Angeles"), "NH": ("New Hampshire", "America/New_York"),
        "NJ": ("New Jersey", "America/New_York"), "NM": ("New Mexico", "America/Denver"),
        "NY": ("New York", "America/New_York"), "NC": ("North Carolina", "America/New_York"),
        "ND": ("North Dakota", "America/Chicago"), "OH": ("Ohio", "America/New_York"),
        "OK": ("Oklahoma", "America/Chicago"), "OR": ("Oregon", "America/Los_Angeles"),
        "PA": ("Pennsylvania", "America/New_York"), "RI": ("Rhode Island", "America/New_York"),
        "SC": ("South Carolina", "America/New_York"), "SD": ("South Dakota", "America/Chicago"),
        "TN": ("Tennessee", "America/Chicago"), "TX": ("Texas", "America/Chicago"),
        "UT": ("Utah", "America/Denver"), "VT": ("Vermont", "America/New_York"),
        "VA": ("Virginia", "America/New_York"), "WA": ("Washington", "America/Los_Angeles"),
        "WV": ("West Virginia", "America/New_York"), "WI": ("Wisconsin", "America/Chicago"),
        "WY": ("Wyoming", "America/Denver"), "PR": ("Puerto Rico", "America/Puerto_Rico"),
        "VI": ("U.S. Virgin Islands", "America/St_Thomas"), "GU": ("Guam", "Pacific/Guam"),
        "AS": ("American Samoa", "Pacific/Pago_Pago"), "MP": ("Northern Mariana Islands", "Pacific/Saipan"),
    },
    "CA": {
        "AB": ("Alberta", "America/Edmonton"), "BC": ("British Columbia", "America/Vancouver"),
        "MB": ("Manitoba", "America/Winnipeg"), "NB": ("New Brunswick", "America/Moncton"),
        "NL": ("Newfoundland and Labrador", "America/St_Johns"), "NS": ("Nova Scotia", "America/Halifax"),
        "NT": ("Northwest Territories", "America/Edmonton"), "NU": ("Nunavut", "America/Iqaluit"),
        "ON": ("Ontario", "America/Toronto"), "PE": ("Prince Edward Island", "America/Halifax"),
        "QC": ("Quebec", "America/Toronto"), "SK": ("Saskatchewan", "America/Regina"),
        "YT": ("Yukon", "America/Whitehorse"),
    },
    "AU": {
        "ACT": ("Australian Capital Territory", "Australia/Sydney"), "NSW": ("New South Wales", "Australia/Sydney"),
        "NT": ("Northern Territory", "Australia/Darwin"), "QLD": ("Queensland", "Australia/Brisbane"),
        "SA": ("South Australia", "Australia/Adelaide"), "TAS": ("Tasmania", "Australia/Hobart"),
        "VIC": ("Victoria", "Australia/Melbourne"), "WA": ("Western Australia", "Australia/Perth"),
    },
    "BR": {
        "AC": ("Acre", "America/Rio_Branco"), "AL": ("Alagoas", "America/Maceio"),
        "AP": ("Amapa", "America/Belem"), "AM": ("Amazonas", "America/Manaus"),
        "BA": ("Bahia", "America/Bahia"), "CE": ("Ceara", "America/Fortaleza"),
        "DF": ("Distrito Federal", "America/Sao_Paulo"), "ES": ("Espirito Santo", "America/Sao_Paulo"),
        "GO": ("Goias", "America/Sao_Paulo"), "MA": ("Maranhao", "America/Fortaleza"),
        "MT": ("Mato Grosso", "America/Cuiaba"), "MS": ("Mato Grosso do Sul", "America/Campo_Grande"),
        "MG": ("Minas Gerais", "America/Sao_Paulo"), "PA": ("Para", "America/Belem"),
        "PB": ("Paraiba", "America/Fortaleza"), "PR": ("Parana", "America/Sao_Paulo"),
        "PE": ("Pernambuco", "America/Recife"), "PI": ("Piaui", "America/Fortaleza"),
        "RJ": ("Rio de Janeiro", "America/Sao_Paulo"), "RN": ("Rio Grande do Norte", "America/Fortaleza"),
        "RS": ("Rio Grande do Sul", "America/Sao_Paulo"), "RO": ("Rondonia", "America/Porto_Velho"),
        "RR": ("Roraima", "America/Boa_Vista"), "SC": ("Santa Catarina", "America/Sao_Paulo"),
        "SP": ("Sao Paulo", "America/Sao_Paulo"), "SE": ("Sergipe", "America/Maceio"),
        "TO": ("Tocantins", "America/Araguaina"),
    },
    "MX": {
        "AGU": ("Aguascalientes", "America/Mexico_City"), "BCN": ("Baja California", "America/Tijuana"),
        "BCS": ("Baja California Sur", "America/Mazatlan"), "CAM": ("Campeche", "America/Merida"),
        "CHP": ("Chiapas", "America/Mexico_City"), "CHH": ("Chihuahua", "America/Chihuahua"),
        "CMX": ("Ciudad de Mexico", "America/Mexico_City"), "COA": ("Coahuila", "America/Monterrey"),
        "COL": ("Colima", "America/Mexico_City"), "DUR": ("Durango", "America/Monterrey"),
        "GUA": ("Guanajuato", "America/Mexico_City"), "GRO": ("Guerrero", "America/Mexico_City"),
        "HID": ("Hidalgo", "America/Mexico_City"), "JAL": ("Jalisco", "America/Mexico_City"),
        "MEX": ("Estado de Mexico", "America/Mexico_City"), "MIC": ("Michoacan", "America/Mexico_City"),
        "MOR": ("Morelos", "America/Mexico_City"), "NAY": ("Nayarit", "America/Mazatlan"),
        "NLE": ("Nuevo Leon", "America/Monterrey"), "OAX": ("Oaxaca", "America/Mexico_City"),
        "PUE": ("Puebla", "America/Mexico_City"), "QUE": ("Queretaro", "America/Mexico_City"),
        "ROO": ("Quintana Roo", "America/Cancun"), "SLP": ("San Luis Potosi", "America/Mexico_City"),
        "SIN": ("Sinaloa", "America/Mazatlan"), "SON": ("Sonora", "America/Hermosillo"),
        "TAB": ("Tabasco", "America/Mexico_City"), "TAM": ("Tamaulipas", "America/Monterrey"),
        "TLA": ("Tlaxcala", "America/Mexico_City"), "VER": ("Veracruz", "America/Mexico_City"),
        "YUC": ("Yucatan", "America/Merida"), "ZAC": ("Zacatecas", "America/Mexico_City"),
    },
}

# Other ways regions are written (normalised), per country: -> region code.
_REGION_ALIASES = {
    "US": {"washington dc": "DC", "washington d c": "DC", "d c": "DC"},
    "CA": {"newfoundland": "NL", "labrador": "NL", "nf": "NL", "pq": "QC", "que": "QC", "yk": "YT",
           "pei": "PE"},
    "AU": {"queensland": "QLD", "tasmania": "TAS", "victoria": "VIC", "canberra": "ACT"},
    "MX": {"cdmx": "CMX", "df": "CMX", "distrito federal": "CMX", "mexico city": "CMX", "ciudad de mexico": "CMX",
           "bc": "BCN", "baja california norte": "BCN", "bcs": "BCS", "nl": "NLE", "qr": "ROO", "q roo": "ROO",
           "coahuila de zaragoza": "COA", "michoacan de ocampo": "MIC", "veracruz de ignacio de la llave": "VER",
           "mexico": "MEX", "edomex": "MEX", "chis": "CHP", "chih": "CHH", "jal": "JAL", "yuc": "YUC",
           "son": "SON", "sin": "SIN", "tamps": "TAM", "gto": "GUA", "pue": "PUE", "qro": "QUE", "oax": "OAX",
           "ags": "AGU", "camp": "CAM", "col": "COL", "dgo": "DUR", "gro": "GRO", "hgo": "HID", "mich": "MIC",
           "mor": "MOR", "nay": "NAY", "slp": "SLP", "tab": "TAB", "tlax": "TLA", "ver": "VER", "zac": "ZAC"},
}

# Cities of split regions that keep another zone than their region's: country -> region -> city -> zone.
_REGION_CITIES: dict[str, dict[str, dict[str, str]]] = {
    "US": {
        "TX": {"el paso": "America/Denver", "horizon city": "America/Denver", "socorro": "America/Denver"},
        "FL": {"pensacola": "America/Chicago", "panama city": "America/Chicago", "destin": "America/Chicago",
               "fort walton beach": "America/Chicago", "crestview": "America/Chicago",
               "navarre": "America/Chicago", "milton": "America/Chicago"},
        "ID": {"coeur dalene": "America/Los_Angeles", "moscow": "America/Los_Angeles",
               "lewiston": "America/Los_Angeles", "post falls": "America/Los_Angeles",
               "sandpoint": "America/Los_Angeles"},
        "OR": {"ontario": "America/Boise", "nyssa": "America/Boise", "vale": "America/Boise"},
        "KY": {"louisville": "America/Kentucky/Louisville", "monticello": "America/Kentucky/Monticello",
               "bowling green": "America/Chicago", "paducah": "America/Chicago", "owensboro": "America/Chicago",
               "hopkinsville": "America/Chicago", "henderson": "America/Chicago", "murray": "America/Chicago",
               "madisonville": "America/Chicago"},
        "TN": {"knoxville": "America/New_York", "chattanooga": "America/New_York",
               "johnson city": "America/New_York", "kingsport": "America/New_York", "bristol": "America/New_York",
               "oak ridge": "America/New_York", "cleveland": "America/New_York", "morristown": "America/New_York",
               "maryville": "America/New_York"},
        "IN": {"evansville": "America/Chicago", "gary": "America/Chicago", "hammond": "America/Chicago",
               "merrillville": "America/Chicago", "valparaiso": "America/Chicago", "michigan city": "America/Chicago",
               "vincennes": "America/Indiana/Vincennes", "winamac": "America/Indiana/Winamac",
               "marengo": "America/Indiana/Marengo", "petersburg": "America/Indiana/Petersburg",
               "vevay": "America/Indiana/Vevay", "tell city": "America/Indiana/Tell_City",
               "knox": "America/Indiana/Knox"},
        "MI": {"menominee": "America/Menominee", "iron mountain": "America/Menominee", "ironwood": "America/Menominee"},
        "ND": {"dickinson": "America/Denver", "bowman": "America/Denver", "center": "America/North_Dakota/Center",
               "new salem": "America/North_Dakota/New_Salem", "beulah": "America/North_Dakota/Beulah"},
        "SD": {"rapid city": "America/Denver", "spearfish": "America/Denver", "sturgis": "America/Denver"},
        "NE": {"scottsbluff": "America/Denver", "sidney": "America/Denver", "alliance": "America/Denver",
               "chadron": "America/Denver"},
        "KS": {"goodland": "America/Denver", "sharon springs": "America/Denver"},
        "NV": {"west wendover": "America/Denver"},
        "AZ": {"window rock": "America/Denver", "tuba city": "America/Denver", "chinle": "America/Denver",
               "kayenta": "America/Denver"},
        "AK": {"juneau": "America/Juneau", "sitka": "America/Sitka", "nome": "America/Nome", "adak": "America/Adak",
               "metlakatla": "America/Metlakatla", "yakutat": "America/Yakutat"},
    },
    "CA": {
        "BC": {"dawson creek": "America/Dawson_Creek", "fort st john": "America/Dawson_Creek",
               "fort nelson": "America/Fort_Nelson", "creston": "America/Creston", "cranbrook": "America/Edmonton",
               "golden": "America/Edmonton", "invermere": "America/Edmonton", "fernie": "America/Edmonton"},
        "ON": {"kenora": "America/Winnipeg", "dryden": "America/Winnipeg", "atikokan": "America/Atikokan"},
        "QC": {"blanc sablon": "America/Puerto_Rico"},
        "NL": {"happy valley goose bay": "America/Goose_Bay", "goose bay": "America/Goose_Bay",
               "labrador city": "America/Goose_Bay", "wabush": "America/Goose_Bay"},
        "SK": {"lloydminster": "America/Edmonton", "swift current": "America/Swift_Current"},
        "NS": {"glace bay": "America/Glace_Bay", "sydney": "America/Glace_Bay"},
        "NT": {"inuvik": "America/Inuvik"},
        "NU": {"rankin inlet": "America/Rankin_Inlet", "cambridge bay": "America/Cambridge_Bay",
               "resolute": "America/Resolute"},
        "YT": {"dawson": "America/Dawson", "dawson city": "America/Dawson"},
    },
    "AU": {
        "NSW": {"broken hill": "Australia/Broken_Hill", "lord howe island": "Australia/Lord_Howe"},
        "WA": {"eucla": "Australia/Eucla"},
        "QLD": {"lindeman island": "Australia/Lindeman"},
        "TAS": {"macquarie island": "Antarctica/Macquarie"},
    },
    "BR": {
        "PE": {"fernando de noronha": "America/Noronha"},
        "AM": {"eirunepe": "America/Eirunepe"},
        "PA": {"santarem": "America/Santarem"},
    },
    "MX": {
        "NAY": {"bahia de banderas": "America/Bahia_Banderas", "nuevo vallarta": "America/Bahia_Banderas"},
        "TAM": {"matamoros": "America/Matamoros", "reynosa": "America/Matamoros", "nuevo laredo": "America/Matamoros"},
        "CHH": {"ciudad juarez": "America/Ciudad_Juarez", "juarez": "America/Ciudad_Juarez",
                "ojinaga": "America/Ojinaga"},
        "COA": {"piedras negras": "America/Matamoros", "ciudad acuna": "America/Matamoros"},
    },
}

# Big cities of multi-zone countries that do not name a zone themselves: country -> city -> zone.
_CITIES = {
    "US": {"new york city": "America/New_York", "nyc": "America/New_York", "san francisco": "America/Los_Angeles",
           "seattle": "America/Los_Angeles", "houston": "America/Chicago", "dallas": "America/Chicago",
           "atlanta": "America/New_York", "boston": "America/New_York", "miami": "America/New_York",
           "philadelphia": "America/New_York", "san diego": "America/Los_Angeles", "las vegas": "America/Los_Angeles",
           "salt lake city": "America/Denver", "minneapolis": "America/Chicago", "washington": "America/New_York"},
    "CA": {"montreal": "America/Toronto", "ottawa": "America/Toronto", "calgary": "America/Edmonton",
           "quebec city": "America/Toronto", "saskatoon": "America/Regina", "victoria": "America/Vancouver"},
    "AU": {"canberra": "Australia/Sydney", "gold coast": "Australia/Brisbane", "newcastle": "Australia/Sydney"},
    "BR": {"rio de janeiro": "America/Sao_Paulo", "brasilia": "America/Sao_Paulo",
           "belo horizonte": "America/Sao_Paulo",
           "curitiba": "America/Sao_Paulo", "porto alegre": "America/Sao_Paulo", "salvador": "America/Bahia"},
    "MX": {"guadalajara": "America/Mexico_City", "ciudad de mexico": "America/Mexico_City",
           "mexico city": "America/Mexico_City", "puebla": "America/Mexico_City", "cdmx": "America/Mexico_City",
           "tijuana": "America/Tijuana", "mexicali": "America/Tijuana", "la paz": "America/Mazatlan",
           "los cabos": "America/Mazatlan", "cabo san lucas": "America/Mazatlan"},
    "RU": {"saint petersburg": "Europe/Moscow", "st petersburg": "Europe/Moscow", "sankt peterburg": "Europe/Moscow",
           "moskva": "Europe/Moscow", "nizhny novgorod": "Europe/Moscow", "kazan": "Europe/Moscow",
           "rostov on don": "Europe/Moscow", "krasnodar": "Europe/Moscow", "voronezh": "Europe/Moscow",
           "sochi": "Europe/Moscow", "ufa": "Asia/Yekaterinburg", "chelyabinsk": "Asia/Yekaterinburg",
           "perm": "Asia/Yekaterinburg", "tyumen": "Asia/Yekaterinburg", "ekaterinburg": "Asia/Yekaterinburg",
           "khabarovsk": "Asia/Vladivostok", "petropavlovsk kamchatsky": "Asia/Kamchatka"},
    "ID": {"bandung": "Asia/Jakarta", "surabaya": "Asia/Jakarta", "medan": "Asia/Jakarta",
           "semarang": "Asia/Jakarta", "yogyakarta": "Asia/Jakarta", "palembang": "Asia/Jakarta",
           "denpasar": "Asia/Makassar", "bali": "Asia/Makassar", "balikpapan": "Asia/Makassar",
           "manado": "Asia/Makassar", "samarinda": "Asia/Makassar", "ambon": "Asia/Jayapura"},
    "CD": {"goma": "Africa/Lubumbashi", "bukavu": "Africa/Lubumbashi", "kisangani": "Africa/Lubumbashi",
           "mbuji mayi": "Africa/Lubumbashi", "kolwezi": "Africa/Lubumbashi", "matadi": "Africa/Kinshasa"},
    "ES": {"las palmas": "Atlantic/Canary", "las palmas de gran canaria": "Atlantic/Canary",
           "santa cruz de tenerife": "Atlantic/Canary", "tenerife": "Atlantic/Canary",
           "gran canaria": "Atlantic/Canary",
           "lanzarote": "Atlantic/Canary", "arrecife": "Atlantic/Canary", "fuerteventura": "Atlantic/Canary",
           "melilla": "Africa/Ceuta"},
    "PT": {"funchal": "Atlantic/Madeira", "ponta delgada": "Atlantic/Azores", "angra do heroismo": "Atlantic/Azores"},
    "CL": {"hanga roa": "Pacific/Easter", "easter island": "Pacific/Easter"},
    "EC": {"puerto ayora": "Pacific/Galapagos", "puerto baquerizo moreno": "Pacific/Galapagos"},
    "NZ": {"chatham islands": "Pacific/Chatham", "waitangi": "Pacific/Chatham"},
    "KI": {"south tarawa": "Pacific/Tarawa", "bairiki": "Pacific/Tarawa", "london": "Pacific/Kiritimati"},
    "FM": {"weno": "Pacific/Chuuk", "palikir": "Pacific/Pohnpei", "kolonia": "Pacific/Pohnpei"},
    "PS": {"gaza city": "Asia/Gaza", "ramallah": "Asia/Hebron", "bethlehem": "Asia/Hebron", "nablus": "Asia/Hebron",
           "jericho": "Asia/Hebron", "jenin": "Asia/Hebron"},
}


def _norm(text: str | None) -> str:
    """Lower case, no accents, no punctuation, single spaces; "Saint" and "St." read alike."""
    if not text:
        return ""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", plain.lower().replace("'", "").replace("&", " and ")).split()
    return " ".join("st" if w == "saint" else w for w in words)


def _zone_city(zone: str) -> str:
    return _norm(zone.rsplit("/", 1)[-1].replace("_", " "))


_BY_NAME = {_norm(name): code for code, name in _NAMES.items()}
_BY_NAME.update({_norm(re.sub(r"\s*\(.*\)", "", name)): code for code, name in _NAMES.items()
                 if "(" in name and _norm(re.sub(r"\s*\(.*\)", "", name)) not in ("korea", "congo", "samoa",
                                                                                  "virgin islands", "st martin")})
_BY_NAME.update({_norm(alias): code for alias, code in _ALIASES.items()})


def country_code(country: str | None) -> str | None:
    """The ISO 3166 alpha-2 code of a country written as a code or a name; None when it is not one."""
    words = (country or "").strip()
    if not words:
        return None
    upper = words.upper().replace(".", "")
    if len(upper) == 2 and upper in _NAMES:
        return upper
    if upper == "UK":
        return "GB"
    if len(upper) == 3 and upper in _ALPHA3:
        return _ALPHA3[upper]
    return _BY_NAME.get(_norm(words))


def region_code(country: str, region: str | None) -> str | None:
    """The code of a state or province of `country` (alpha-2) written as its code or name, if we know it."""
    regions = _REGIONS.get(country)
    words = _norm(region)
    if regions is None or not words:
        return None
    upper = words.upper().replace(" ", "")
    for candidate in (upper, upper.removeprefix(country)):  # "CA", "US-CA", "USCA"
        if candidate in regions:
            return candidate
    for code, (name, _) in regions.items():
        if _norm(name) == words:
            return code
    aliases = _REGION_ALIASES.get(country, {})
    return aliases.get(words) or aliases.get(words.replace(" ", ""))  # "N.L." reads "n l"


def _city_zone(country: str, city: str) -> str | None:
    if not city:
        return None
    for zone in _ZONES.get(country, ()):
        if _zone_city(zone) == city:
            return zone
    return _CITIES.get(country, {}).get(city)


def zone_for_address(country: str | None, region: str | None = None,
                     city: str | None = None) -> tuple[str, str] | None:
    """(IANA zone, how it was found) for an address, or None when the address does not say (see the module)."""
    code = country_code(country)
    if code is None:
        return None
    zones = _ZONES.get(code, ())
    if len(zones) == 1:
        return zones[0], "country"
    town = _norm(city)
    region_key = region_code(code, region)
    if region_key is not None:
        special = _REGION_CITIES.get(code, {}).get(region_key, {}).get(town)
        if special is not None:
            return special, f"region {region_key}, city {(city or '').strip()}"
        return _REGIONS[code][region_key][1], f"region {region_key}"
    by_city = _city_zone(code, town)
    if by_city is not None:
        return by_city, f"city {(city or '').strip()}"
    if code in _MAIN_ZONES:
        return _MAIN_ZONES[code], "country's main zone"
    return None


def known_zones() -> set[str]:
    """Every zone this module can answer (a test loads each)."""
    found = {zone for zones in _ZONES.values() for zone in zones} | set(_MAIN_ZONES.values())
    found |= {zone for regions in _REGIONS.values() for _, zone in regions.values()}
    found |= {zone for regions in _REGION_CITIES.values() for cities in regions.values() for zone in cities.values()}
    found |= {zone for cities in _CITIES.values() for zone in cities.values()}
    return found


# --- what a ledger mapping asks: the customer's zone and where it came from -----------------------------


@dataclass(frozen=True)
class CompanyZone:
    """The zone of the company whose books these are, used when a customer's address gives none.

    `zone` None: nobody knows it (no DUECOURSE_COMPANY_TIME_ZONE, and the ledger does not say); `origin`
    says where it came from, `country` (alpha-2) is the company's, taken for addresses that name none."""

    zone: str | None
    origin: str = "DUECOURSE_COMPANY_TIME_ZONE"
    country: str | None = None

    @classmethod
    def configured(cls, name: str | None, origin: str = "DUECOURSE_COMPANY_TIME_ZONE") -> CompanyZone | None:
        """The zone set in configuration; None when unset; ValueError naming the setting when it is no zone."""
        if name is None or not name.strip():
            return None
        try:
            ZoneInfo(name.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{origin}={name!r} is not an IANA time zone name (e.g. 'Europe/London', "
                             "'America/New_York')") from None
        return cls(zone=name.strip(), origin=origin)


UNKNOWN_COMPANY = CompanyZone(zone=None, origin="nowhere")


@dataclass(frozen=True)
class CustomerZone:
    zone: str
    source: str
    # Alpha-2 of the address's country when it names one we know (or the company's, taken for an address with
    # a region or city but no country); None otherwise.
    country: str | None


def _describe(city: str | None, region: str | None, country: str | None) -> str:
    return ", ".join(part.strip() for part in (city, region, country) if part and part.strip())


def customer_zone(country: str | None, region: str | None, city: str | None,
                  company: CompanyZone | None) -> CustomerZone:
    """The customer's zone from their address, else the company's, else UTC, with a sentence saying which
    ("address: Springfield, CA, US", "company zone Europe/London (address gives none)", "UTC: ...")."""
    code = country_code(country)
    has_place = bool((region or "").strip() or (city or "").strip())
    # A region or city with no country at all (QuickBooks US addresses often leave Country out): the company's.
    assumed = company.country if company is not None and code is None and not (country or "").strip() \
        and has_place else None
    found = zone_for_address(assumed or country, region, city)
    shown = _describe(city, region, code or country or assumed)
    code = code or assumed
    if found is not None:
        note = f" (country taken as the company's, {assumed})" if assumed else ""
        return CustomerZone(zone=found[0], source=f"address: {shown}{note}", country=code)
    why = f"address gives none: {shown}" if shown else "no address"
    if company is not None and company.zone is not None:
        return CustomerZone(zone=company.zone, source=f"company zone {company.zone} ({why})", country=code)
    return CustomerZone(zone="UTC", source=f"UTC: {why}, and the company's zone is unknown "
                                           "(set DUECOURSE_COMPANY_TIME_ZONE)", country=code)
