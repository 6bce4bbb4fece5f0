"""Dutch: replies to "betalingsherinnering" mails. Note "hier" means "here" and "morgen" "tomorrow"."""

from __future__ import annotations

from activities.replies.phrases.vocabulary import MEDIUM, STRONG, WEAK, Language, phrase

GAP = r"(?: [\w.#/-]+){0,6}?"
DAGEN = r"(?:maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag)"

CUES = (
    phrase("paid", STRONG, rf"\b(?:we|wij|ik|onze (?:administratie|boekhouding))(?: (?:hebben|heb))?(?: (?:al|reeds|"
                           rf"gisteren|vandaag))*{GAP} (?:betaald|overgemaakt|voldaan|overgeboekt|gestort|"
                           rf"overgeschreven)\b"),
    phrase("paid", STRONG, r"\b(?:factuur|betaling|bedrag|overboeking|overschrijving|rekening)(?: [\w.#/-]+){0,4}? "
                           r"(?:is|werd|zijn|werden)(?: (?:al|reeds|gisteren|vandaag|op))*(?: [\w.#/-]+){0,3}? "
                           r"(?:betaald|voldaan|overgemaakt|verstuurd|verzonden|uitgevoerd|overgeboekt|gedaan|verwerkt)"
                           r"\b"),
    phrase("paid", STRONG, r"\b(?:al|reeds) (?:betaald|voldaan|overgemaakt)\b|\bbetalingsbewijs\b|\bbewijs van "
                           r"betaling\b"),
    phrase("paid", STRONG, r"\b(?:is|zijn|werd|werden)(?: (?:al|reeds|gisteren|vandaag|inmiddels|vorige week"
                           r"|op \d+ \w+))* "
                           r"(?:betaald|voldaan|overgemaakt|overgeboekt)\b"),
    phrase("paid", MEDIUM, r"\b(?:de helft|een deel|gedeeltelijk)(?: [\w.-]+){0,2} (?:betaald|overgemaakt|voldaan)\b",
           role="partial"),
    phrase("paid", WEAK, r"\bbetaald\b"),
    phrase("promise", STRONG, rf"\b(?:we|wij|ik) (?:zullen|zal|gaan|ga){GAP} (?:betalen|overmaken|voldoen|overboeken|"
                              rf"storten|overschrijven)\b"),
    phrase("promise", STRONG, rf"\b(?:wordt|worden|zal|zullen){GAP} (?:betaald|voldaan|overgemaakt|uitgevoerd|"
                              rf"overgeboekt)(?: worden)?\b"),
    phrase("promise", STRONG, r"\b(?:staat|is|zijn|staan) (?:ingepland|gepland)\b"),
    phrase("promise", STRONG, rf"\b(?:we|wij|ik) (?:betalen|maken|boeken)(?: [\w.#/-]+){{0,4}}? (?:morgen|vandaag|"
                              rf"volgende|deze|voor|uiterlijk|{DAGEN}|eind|binnen|over|op)\b"),
    phrase("dispute", STRONG, r"\b(?:bedrag|prijs|totaal|aantal|factuur|uren|btw|korting"
                              r"|berekening)(?: [\w.#/-]+){0,4}?"
                              r" (?:is|zijn|klopt|kloppen|lijkt)(?: \w+){0,2}? (?:onjuist|fout|verkeerd|te hoog|niet|"
                              r"incorrect)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:betwisten|bestrijden|geschil|niet akkoord|oneens|dubbel gefactureerd|twee keer "
                              r"gefactureerd|niet besteld|nooit besteld|niet geleverd|nooit geleverd|beschadigd|"
                              r"defect|klacht)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:weigeren te betalen|(?:zullen|gaan|willen) (?:\w+ )?niet betalen)\b",
           negatable=False),
    phrase("dispute", MEDIUM, r"\bcreditnota\b"),
    phrase("dispute", STRONG, r"\b(?:bevat|staat|zit) (?:een|enkele) (?:fout|fouten|vergissing)\b"),
    phrase("dispute", STRONG, r"\bkomt (?:niet|nergens) overeen\b|\bkomen niet overeen\b"
                              r"|\bafwijking\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:geen|niet) (?:factuur|de factuur)(?: [\w.-]+){0,3}? (?:ontvangen|gekregen|"
                                   r"gezien)\b|\bfactuur (?:niet|nooit|nog niet) ontvangen\b|\b(?:hebben|heb) (?:de "
                                   r"|uw "
                                   r"|deze )?factuur (?:niet|nooit|nog niet) (?:ontvangen|gekregen)\b",
           negatable=False),
    phrase("copy_request", STRONG, r"\b(?:kopie|duplicaat|pdf)(?: [\w.-]+){0,2}? (?:van de|van deze|van uw) factuur\b|"
                                   r"\bfactuur(?: [\w.#/-]+){0,3}? (?:opnieuw|nogmaals) (?:sturen|toesturen|versturen|"
                                   r"mailen)\b|\b(?:opnieuw|nogmaals) (?:sturen|toesturen|versturen|mailen)\b"),
    phrase("plan_request", STRONG, r"\b(?:betalingsregeling|betaalregeling|in termijnen|termijnen|gespreid betalen|"
                                   r"gespreide betaling|afbetalingsregeling|uitstel van betaling)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:uitstel|meer tijd|liquiditeitsproblemen|financiele problemen)\b"),
    phrase("wrong_contact", STRONG, r"\bniet meer (?:werkzaam|in dienst|bij|verantwoordelijk)\b|\bniet (?:de juiste|het"
                                    r" juiste) (?:persoon|contactpersoon|adres)\b|\bverkeerde (?:persoon|"
                                    r"contactpersoon|adres|ontvanger|e-?mailadres)\b|\bfacturen (?:graag |kunt u )?"
                                    r"(?:sturen |mailen )?naar\b", negatable=False),
    phrase("unsubscribe", STRONG, r"\b(?:afmelden|af te melden|uitschrijven|uit te schrijven|geen (?:e-?mails|berichten"
                                  r"|mails) meer|verwijder mij|"
                                  r"niet meer (?:mailen|contacteren|benaderen))\b", negatable=False),
    phrase("out_of_office", STRONG, r"\b(?:afwezig|met vakantie|op vakantie|niet op kantoor|buiten kantoor|met verlof|"
                                    r"beperkt bereikbaar|niet bereikbaar)\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:weer aanwezig|terug op|ben ik weer|weer op kantoor|weer bereikbaar)\b"),
    phrase("bounce", STRONG, r"\b(?:bezorging is mislukt|kon niet worden (?:bezorgd|afgeleverd)|onbekende "
                             r"ontvanger)\b"),
    phrase("question", MEDIUM, r"\b(?:wat|welke|waarom|hoe|wanneer|waar|wie|kunt u|kan u)\b[^.!?\n]{0,120}\?"),
    phrase("question", MEDIUM, r"\b(?:bankgegevens|rekeningnummer|een vraag)\b"),
)

SUBJECT_CUES = (
    phrase("out_of_office", STRONG, r"\b(?:afwezig|afwezigheid|niet op kantoor|vakantie)\b"),
    phrase("out_of_office", WEAK, r"^(?:automatisch antwoord)"),
    phrase("bounce", STRONG, r"^(?:onbestelbaar|niet bezorgd|bezorging mislukt)"),
    phrase("unsubscribe", STRONG, r"^(?:afmelden|uitschrijven)\W*$"),
)

DUTCH = Language(
    code="nl",
    cues=CUES,
    subject_cues=SUBJECT_CUES,
    stopwords=frozenset("de het een en wij we is niet van op voor met factuur betaald hebben zijn u uw graag "
                        "groet dank bedankt".split()),
    negations=("niet", "nooit", "geen", "nog niet", "zonder"),
    post_negations=("niet",),
    clause_breaks=("maar", "echter", "hoewel"),
    hypothetical=("tot", "zodra", "wanneer", "als", "of", "voordat", "nadat"),
    conditions=(r"\b(?:zodra|wanneer|als|nadat|indien)\b(?: [\w'-]+){0,6}? (?:u|jullie|wij (?:de|een) "
                r"(?:gecorrigeerde|nieuwe|juiste))\b",),
    remainder=(r"\b(?:de rest|het restant|het resterende bedrag|de andere helft|het verschil)\b",),
    months={"januari": 1, "februari": 2, "maart": 3, "mrt": 3, "april": 4, "mei": 5, "juni": 6, "juli": 7,
            "augustus": 8, "september": 9, "oktober": 10, "okt": 10, "november": 11, "december": 12},
    weekdays={"maandag": 0, "dinsdag": 1, "woensdag": 2, "donderdag": 3, "vrijdag": 4, "zaterdag": 5, "zondag": 6},
    numbers={"een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8, "negen": 9,
             "tien": 10, "veertien": 14, "dertig": 30},
    day_words={"vandaag": 0, "vanochtend": 0, "vanmorgen": 0, "vanmiddag": 0, "vanavond": 0, "morgen": 1,
               "morgenochtend": 1, "overmorgen": 2, "gisteren": -1, "gisteravond": -1, "eergisteren": -2},
    next_words=("volgende", "aanstaande", "komende"),
    last_words=("vorige", "afgelopen", "jongstleden"),
    this_words=("deze",),
    units={"dag": "day", "dagen": "day", "werkdagen": "business_day", "week": "week", "weken": "week", "maand": "month",
           "maanden": "month"},
    within=("over", "binnen", "binnen de"),
    ago_after=("geleden",),
    periods={"eind van de maand": ("month_end", 0), "einde van de maand": ("month_end", 0),
             "eind deze maand": ("month_end", 0), "einde maand": ("month_end", 0),
             "eind van deze maand": ("month_end", 0),
             "eind volgende maand": ("month_end", 1), "einde volgende maand": ("month_end", 1),
             "volgende maand": ("month", 1), "vorige maand": ("vague", -1), "deze maand": ("month", 0),
             "eind van de week": ("week_end", 0), "einde van de week": ("week_end", 0),
             "eind deze week": ("week_end", 0),
             "deze week": ("week", 0), "eind volgende week": ("week_end", 1), "einde volgende week": ("week_end", 1),
             "volgende week": ("week", 1), "vorige week": ("vague", -1), "afgelopen week": ("vague", -1),
             "zo snel mogelijk": ("vague", 1), "binnenkort": ("vague", 1),
             "de komende dagen": ("vague", 1)},
    month_end_words=("eind", "einde", "eind van", "eind"),
    month_mid_words=("half", "medio", "midden"),
    day_of_month=(r"\b(?:op|voor|tot) de (?P<day>\d{1,2})(?:e|ste|de)\b(?: (?:(?P<next>van volgende maand)|(?P<this>"
                  r"van deze maand)))?",),
    until_words=("tot", "tot en met", "t/m"),
    through_words=("tot en met", "t/m"),
    return_words=("terug", "weer aanwezig", "weer op kantoor", "weer bereikbaar", "weer beschikbaar"),
    range_words=("tot", "-", "tot en met", "t/m"),
    reference_words=("van", "gedateerd", "factuurdatum", "vervaldatum", "vervallen"),
    wrote=("schreef", "heeft geschreven"),
    header_from=("van",),
    header_fields=("verzonden", "datum", "aan", "cc", "onderwerp"),
    separators=(r"-{2,}\s*oorspronkelijk bericht\s*-{2,}", r"oorspronkelijk bericht", r"doorgestuurd bericht",
                r"origineel bericht"),
    sign_offs=(r"(?:met )?vriendelijke groet(?:en)?", r"(?:met )?(?:hartelijke |beste )?groet(?:en)?", r"mvg",
               r"groetjes"),
    mobile_signatures=(r"verzonden (?:vanaf|met|van) mijn \w+", r"verstuurd vanaf mijn \w+"),
    disclaimers=(r"(?:dit|deze) (?:e-?mail(?:bericht)?|bericht)\b.{0,120}(?:vertrouwelijk|uitsluitend)",),
)
