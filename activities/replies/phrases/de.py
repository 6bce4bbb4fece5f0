"""German: replies to payment reminders ("Zahlungserinnerung", "Mahnung") as German-speaking customers and
their Exchange servers write them. Folded: ä/ö/ü lose their dots and ß becomes ss; "ue" spellings are
matched where people type them."""

from __future__ import annotations

from activities.replies.phrases.vocabulary import MEDIUM, STRONG, WEAK, Language, phrase

GAP = r"(?: [\w.#/-]+){0,6}?"
PAID = (r"(?:bezahlt|u(?:e)?berwiesen|beglichen|ausgeglichen|angewiesen|gezahlt|veranlasst|ausgefu(?:e)?hrt|"
        r"getatigt|geleistet|erledigt|freigegeben|gebucht)")
PAY = r"(?:bezahlen|zahlen|u(?:e)?berweisen|begleichen|anweisen|ausgleichen|veranlassen|freigeben|erledigen)"
DAYS = r"(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)"

CUES = (
    # --- paid ---
    phrase("paid", STRONG, rf"\b(?:wurde|wurden|ist|sind|war|waren)(?: (?:bereits|schon|gestern|heute|am|"
                           rf"vollstandig|komplett))*{GAP} {PAID}\b(?! werden)"),
    phrase("paid", STRONG, rf"\b(?:haben|habe|hat|hatten|hatte)(?: (?:bereits|schon|gestern|heute))*{GAP} {PAID}\b"),
    phrase("paid", STRONG, r"\b(?:zahlung|u(?:e)?berweisung|betrag|geld)(?: [\w.#/-]+){0,4}? (?:ist|wurde|wurden|sind|"
                           r"ging|gingen)(?: [\w.#/-]+){0,3}? (?:raus|hinaus|unterwegs|erfolgt|eingegangen|versendet|"
                           r"abgeschickt|rausgegangen)\b"),
    phrase("paid", STRONG, r"\bbereits (?:bezahlt|beglichen|u(?:e)?berwiesen|erledigt|gezahlt|ausgeglichen)\b"),
    phrase("paid", STRONG, r"\b(?:zahlungsnachweis|zahlungsbestatigung|u(?:e)?berweisungsbeleg|"
                           r"u(?:e)?berweisungsbestatigung|zahlungsavis|kontoauszug)\w*\b"),
    phrase("paid", MEDIUM, r"\b(?:sollten|mussten|mu(?:e)?ssten|durften)(?: [\w.-]+){0,4} (?:erhalten|eingegangen|"
                           r"gutgeschrieben)\b"),
    phrase("paid", MEDIUM, r"\b(?:teilzahlung|teilbetrag|anzahlung)(?: [\w.-]+){0,3} (?:geleistet|u(?:e)?berwiesen|"
                           r"bezahlt|gezahlt)\b|\b(?:die halfte|einen teil)(?: [\w.-]+){0,3} (?:bezahlt"
                           r"|u(?:e)?berwiesen"
                           r"|beglichen)\b", role="partial"),
    phrase("paid", WEAK, r"\b(?:bezahlt|u(?:e)?berwiesen|beglichen)\b"),
    # --- promise ---
    phrase("promise", STRONG, rf"\b(?:wir|ich) (?:werden|werde)(?: [\w.#/-]+){{0,6}}? {PAY}\b"),
    phrase("promise", STRONG, rf"\b(?:wird|werden)(?: [\w.#/-]+){{0,6}}? (?:{PAID}|erfolgen|rausgehen|ausgelost)\b"),
    phrase("promise", STRONG, rf"\b(?:werden|werde)(?: [\w.#/-]+){{0,6}}? {PAY}\b"),
    phrase("promise", STRONG, rf"\b(?:zahlung|u(?:e)?berweisung|begleichung)(?: [\w.#/-]+){{0,3}}? (?:erfolgt|geht"
                              rf"|kommt) "
                              rf"(?:bis|am|spatestens|nachste|nachsten|kommende|kommenden|in|innerhalb|morgen|"
                              rf"ubermorgen|heute|zum|ende|diese|{DAYS})\b"),
    phrase("promise", STRONG, rf"\b(?:wir|ich) (?:zahlen|bezahlen|u(?:e)?berweisen|begleichen|veranlassen)"
                              rf"(?: [\w.#/-]+){{0,4}}? (?:bis|am|nachste|nachsten|morgen|heute|ende|spatestens|diese|"
                              rf"kommende|kommenden|innerhalb|in|{DAYS})\b"),
    phrase("promise", STRONG, r"\b(?:zahlung|u(?:e)?berweisung|rechnung)(?: [\w.#/-]+){0,3}? (?:ist|wurde|sind) "
                              r"(?:geplant|eingeplant|vorgesehen|terminiert|angesetzt|vorgemerkt|freigegeben|"
                              r"disponiert)\b"),
    phrase("promise", MEDIUM, r"\b(?:nachsten|kommenden) zahlungslauf\b|\bzahlungslauf\b"),
    phrase("promise", STRONG, r"\b(?:zahlung|u(?:e)?berweisung|betrag|geld|restbetrag|restzahlung) folgt\b"),
    phrase("promise", MEDIUM, rf"\b(?:wir|ich) (?:mochten|wollen|planen|versuchen|hoffen|beabsichtigen)"
                              rf"(?: [\w.#/-]+){{0,4}}? (?:zu )?{PAY}\b"),
    phrase("promise", MEDIUM, rf"\b(?:konnen|kann) (?:erst|leider erst|nicht vor)(?: [\w.#/-]+){{0,4}}? {PAY}\b",
           negatable=False),
    # --- dispute ---
    phrase("dispute", STRONG, r"\b(?:betrag|preis|preise|summe|rechnung|menge|stundenzahl|stunden|position|positionen|"
                              r"berechnung|mwst|mehrwertsteuer|rabatt|gesamtbetrag|rechnungsbetrag|abrechnung)"
                              r"(?: [\w.#/-]+){0,4}? (?:ist|sind|war|waren|scheint|scheinen|stimmt|stimmen)"
                              r"(?: (?:leider|so|hier|offensichtlich|definitiv))? (?:falsch|nicht korrekt|fehlerhaft|"
                              r"zu hoch|nicht richtig|unrichtig|nicht)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:falsche[rnms]?|fehlerhafte[rnms]?|unrichtige[rnms]?|u(?:e)?berho(?:e)?hte[rnms]?)"
                              r" (?:betrag|preis|rechnung|menge|position|berechnung|stundenzahl|rechnungsbetrag|summe|"
                              r"abrechnung)\b"),
    phrase("dispute", STRONG, r"\b(?:widersprechen|widerspruch|reklamation|reklamieren|beanstanden|beanstandung|"
                              r"bestreiten|einspruch|strittig|doppelt (?:berechnet|abgerechnet|in rechnung gestellt)"
                              r"|zu "
                              r"viel berechnet|nicht bestellt|nie bestellt|nicht geliefert|nie geliefert|mangelhaft|"
                              r"beschadigt|defekt|storniert)\b"),
    phrase("dispute", STRONG, r"\b(?:ware|lieferung|leistung|bestellung|material)(?: [\w.-]+){0,3} (?:nicht|nie|noch "
                              r"nicht) (?:erhalten|bekommen|geliefert|erbracht)\b", negatable=False),
    phrase("dispute", MEDIUM, r"\bgutschrift\b"),
    phrase("dispute", STRONG, r"\b(?:enthalt|hat|ist) (?:einen |ein )?(?:fehler|rechenfehler)\b"
                              r"|\bfehler in der rechnung\b"),
    phrase("dispute", STRONG, r"\b(?:stimmt|stimmen) (?:nicht|leider nicht) (?:mit .{0,40})?u(?:e)?berein\b"
                              r"|\babweichung\b|"
                              r"\bnie (?:erbracht|durchgefu(?:e)?hrt|geliefert)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:wir|ich) (?:werden|werde)(?: [\w.-]+){0,3} nicht (?:bezahlen|zahlen|begleichen)\b|"
                              r"\bweigern uns\b|\b(?:zahlen|bezahlen|begleichen) wir (?:die rechnung |diese rechnung )?"
                              r"nicht\b", negatable=False),
    # --- copy request ---
    phrase("copy_request", STRONG, r"\b(?:rechnung|rechnungskopie|kopie|pdf|anhang)(?: [\w.#/-]+){0,3}? (?:nicht|nie|"
                                   r"noch nicht|leider nicht|leider noch nicht) (?:erhalten|bekommen|angekommen|"
                                   r"zugegangen|gesehen|vorliegend|gefunden|geo(?:e)?ffnet|o(?:e)?ffnen)\b",
           negatable=False),
    phrase("copy_request", STRONG, r"\b(?:keine|kein) (?:rechnung|anhang|pdf|kopie)(?: [\w.-]+){0,3}? (?:erhalten|"
                                   r"bekommen|gefunden|angehangt|dabei|vorliegen)\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:kopie|duplikat|zweitschrift|pdf)(?: \w+){0,3}? (?:der|dieser|ihrer|zur|von "
                                   r"der) rechnung\b|\brechnungskopie\b|\brechnungsduplikat\b"),
    phrase("copy_request", STRONG, r"\b(?:rechnung|kopie|pdf)(?: [\w.#/-]+){0,4}? (?:erneut|nochmals|noch einmal|"
                                   r"nochmal) (?:senden|schicken|zusenden|zukommen lassen|u(?:e)?bermitteln|mailen)\b|"
                                   r"\b(?:senden|schicken|u(?:e)?bermitteln) sie (?:uns |mir )?(?:bitte )?(?:die "
                                   r"rechnung|eine kopie|das pdf)\b"),
    # --- plan request ---
    phrase("plan_request", STRONG, r"\b(?:ratenzahlung|ratenplan|zahlungsplan|zahlungsaufschub|stundung|"
                                   r"zahlungsvereinbarung|zahlungsziel verlangern|fristverlangerung|in (?:mehreren |"
                                   r"zwei |drei )?(?:raten|teilbetragen|teilzahlungen))\w*\b"),
    phrase("plan_request", MEDIUM, r"\b(?:mehr zeit|aufschub|liquiditatsengpass|liquiditatsprobleme|finanzielle "
                                   r"schwierigkeiten|zahlungsschwierigkeiten|teilzahlungen)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:konnen|kann)(?: [\w.-]+){0,4} nicht (?:bezahlen|zahlen|begleichen)\b",
           negatable=False),
    # --- wrong contact ---
    phrase("wrong_contact", STRONG, r"\bnicht mehr (?:bei|im unternehmen|in der firma|fur|zustandig|tatig|beschaftigt|"
                                    r"im haus)\b|\b(?:hat|habe) (?:das unternehmen|die firma|uns) verlassen\b"),
    phrase("wrong_contact", STRONG, r"\bnicht (?:zustandig|der richtige ansprechpartner|die richtige "
                                    r"ansprechpartnerin|die richtige person|verantwortlich)\b|\bfalsche[rn]? "
                                    r"(?:ansprechpartner|empfanger|adresse|e-mail-adresse|kontakt|person)\b",
           negatable=False),
    phrase("wrong_contact", STRONG, r"\b(?:rechnungen|rechnung|mahnungen|zahlungserinnerungen)(?: [\w.-]+){0,4}? "
                                    r"(?:an|bitte an) (?:[\w.+-]+@|unsere buchhaltung|die buchhaltung)"),
    phrase("wrong_contact", MEDIUM, r"\bwenden sie sich (?:bitte )?an\b"),
    # --- unsubscribe ---
    phrase("unsubscribe", STRONG, r"\b(?:abmelden|austragen|abbestellen|entfernen sie mich|aus (?:dem|ihrem) "
                                  r"verteiler)\b|\b(?:nicht mehr|nie wieder) (?:kontaktieren|anschreiben|anmailen)\b"),
    phrase("unsubscribe", MEDIUM, r"\bkeine (?:weiteren )?(?:e-?mails|nachrichten|mahnungen|zahlungserinnerungen)\b"),
    # --- out of office ---
    phrase("out_of_office", STRONG, r"\b(?:abwesend|nicht im (?:buro|hause|haus)|im urlaub|urlaubsbedingt|in "
                                    r"elternzeit|auf dienstreise|ausser haus|ausserhalb des buros|nicht erreichbar|"
                                    r"eingeschrankt erreichbar|keinen zugriff auf (?:meine )?e-?mails"
                                    r"|krankheitsbedingt)"
                                    r"\b"),
    phrase("out_of_office", MEDIUM, r"\bwieder (?:im buro|erreichbar|da|zuru(?:e)?ck|im hause|im haus|fur sie da)\b|"
                                    r"\bzuru(?:e)?ck am\b"),
    # --- bounces (Exchange and Postfix in German) ---
    phrase("bounce", STRONG, r"\b(?:zustellung an (?:folgende|diese) empfanger|die zustellung ist fehlgeschlagen|"
                             r"konnte nicht zugestellt werden|unbekannter empfanger|empfanger unbekannt|nicht "
                             r"zustellbar|unzustellbar)\b"),
    # --- question ---
    phrase("question", MEDIUM, r"\b(?:was|welche|welcher|welches|warum|wieso|weshalb|wie|wann|wo|wer)\b[^.!?\n]{0,120}"
                               r"\?"),
    phrase("question", MEDIUM, r"\b(?:bankverbindung|kontonummer|bankdaten|zahlungsinformationen|kontodaten)\b|"
                               r"\b(?:konnen|konnten|wurden) sie (?:mir |uns )?(?:bitte )?(?:mitteilen|bestatigen|"
                               r"erklaren|sagen)\b|\beine frage\b"),
    phrase("other", MEDIUM, r"\b(?:ihre (?:nachricht|e-?mail|anfrage) (?:ist|wurde) (?:bei uns )?eingegangen|dies ist "
                            r"eine automatische)\b", negatable=False),
)

SUBJECT_CUES = (
    phrase("out_of_office", STRONG, r"\b(?:abwesenheitsnotiz|abwesenheit|nicht im buro|urlaub|out of office)\b"),
    phrase("out_of_office", WEAK, r"^(?:automatische antwort|autom\. antwort|automatische ru(?:e)?ckmeldung)"),
    phrase("bounce", STRONG, r"^(?:unzustellbar|nicht zustellbar|nicht zugestellt|zustellung fehlgeschlagen|"
                             r"unzustellbare nachricht)"),
    phrase("unsubscribe", STRONG, r"^(?:abmelden|austragen)\W*$"),
)

GERMAN = Language(
    code="de",
    cues=CUES,
    subject_cues=SUBJECT_CUES,
    stopwords=frozenset("der die das und wir ist nicht ich sie mit den dem ein eine zu rechnung bitte haben wurde "
                        "zahlung bereits am fur vielen dank grussen".split()),
    negations=("nicht", "nie", "niemals", "kein", "keine", "keinen", "noch nicht", "ohne"),
    post_negations=("nicht",),
    clause_breaks=("aber", "jedoch", "allerdings", "sondern", "obwohl"),
    hypothetical=("bis", "sobald", "wenn", "falls", "ob", "bevor", "nachdem"),
    conditions=(r"\b(?:sobald|wenn|nachdem|falls|erst wenn|erst nach)\b(?: [\w'-]+){0,6}? (?:sie|ihr|ihre|ihrer|wir "
                r"(?:die|eine) (?:korrigierte|neue|korrekte|richtige|gutschrift))\b",
                r"\bnach (?:erhalt|eingang|korrektur) (?:der|einer|ihrer)\b"),
    remainder=(r"\b(?:den rest|der rest|restbetrag|restzahlung|die andere halfte|die zweite halfte|den restlichen|"
               r"differenz|den offenen (?:betrag|rest))\b",),
    months={"januar": 1, "janner": 1, "jaenner": 1, "februar": 2, "feber": 2, "marz": 3, "maerz": 3, "mrz": 3,
            "april": 4, "mai": 5, "juni": 6, "juli": 7, "august": 8, "september": 9, "oktober": 10, "okt": 10,
            "november": 11, "dezember": 12, "dez": 12},
    weekdays={"montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5,
              "sonnabend": 5, "sonntag": 6},
    numbers={"ein": 1, "eine": 1, "einer": 1, "einem": 1, "zwei": 2, "drei": 3, "vier": 4, "funf": 5, "fuenf": 5,
             "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "vierzehn": 14, "dreissig": 30},
    day_words={"heute": 0, "heute morgen": 0, "heute fruh": 0, "heute nachmittag": 0, "heute abend": 0,
               "noch heute": 0, "morgen": 1, "morgen fruh": 1, "ubermorgen": 2, "uebermorgen": 2, "gestern": -1,
               "gestern abend": -1, "vorgestern": -2},
    next_words=("nachsten", "nachster", "nachste", "naechsten", "kommenden", "kommender", "kommende"),
    last_words=("letzten", "letzter", "letzte", "vergangenen", "vergangener", "vorigen"),
    this_words=("diesen", "dieser", "diese"),
    units={"tag": "day", "tagen": "day", "tage": "day", "werktagen": "business_day", "arbeitstagen": "business_day",
           "werktage": "business_day", "woche": "week",
           "wochen": "week", "monat": "month", "monaten": "month"},
    within=("in", "innerhalb von", "innerhalb", "binnen"),
    ago_before=("vor",),
    periods={"ende des monats": ("month_end", 0), "ende dieses monats": ("month_end", 0),
             "monatsende": ("month_end", 0),
             "zum monatsende": ("month_end", 0), "ende des laufenden monats": ("month_end", 0),
             "ende nachsten monats": ("month_end", 1), "ende des nachsten monats": ("month_end", 1),
             "ende kommenden monats": ("month_end", 1), "nachsten monat": ("month", 1), "nachster monat": ("month", 1),
             "kommenden monat": ("month", 1), "ende letzten monats": ("month_end", -1),
             "ende des letzten monats": ("month_end", -1), "ende des vormonats": ("month_end", -1),
             "letzten monat": ("vague", -1), "diesen monat": ("month", 0), "ende der woche": ("week_end", 0),
             "ende dieser woche": ("week_end", 0), "diese woche": ("week", 0), "im laufe der woche": ("week", 0),
             "ende nachster woche": ("week_end", 1), "ende der nachsten woche": ("week_end", 1),
             "ende kommender woche": ("week_end", 1), "nachste woche": ("week", 1), "nachster woche": ("week", 1),
             "kommende woche": ("week", 1), "kommender woche": ("week", 1), "letzte woche": ("vague", -1),
             "letzter woche": ("vague", -1), "anfang nachsten monats": ("vague", 1), "in kurze": ("vague", 1),
             "in den nachsten tagen": ("vague", 1),
             "zeitnah": ("vague", 1), "baldmoglichst": ("vague", 1), "umgehend": ("vague", 1)},
    month_end_words=("ende", "ende des", "zum ende", "ende im"),
    month_mid_words=("mitte",),
    day_of_month=(r"\b(?:am|zum|bis zum|bis|vom|ab dem) (?P<day>\d{1,2})\.(?! ?\d)(?: (?:(?P<next>nachsten|"
                  r"kommenden)|(?P<this>dieses|des laufenden)) monats)?",),
    until_words=("bis", "bis zum", "bis einschliesslich zum"),
    through_words=("einschliesslich", "inklusive", "bis einschliesslich"),
    return_words=("wieder", "zuruck", "zurueck"),
    range_words=("bis", "-", "bis zum"),
    reference_words=("vom", "datiert", "rechnungsdatum", "fallig", "faellig", "falligkeit", "zahlungsziel",
                     "ausgestellt"),
    wrote=("schrieb", "hat geschrieben"),
    header_from=("von",),
    header_fields=("gesendet", "datum", "an", "cc", "betreff"),
    separators=(r"-{2,}\s*ursprungliche nachricht\s*-{2,}", r"ursprungliche nachricht", r"weitergeleitete nachricht",
                r"anfang der weitergeleiteten nachricht", r"-{2,}\s*weitergeleitete nachricht"),
    sign_offs=(r"mit freundlichen gru(?:ss|s)(?:en|e)?", r"(?:viele|beste|liebe|freundliche|herzliche|schone|sonnige)"
               r" gru(?:ss|s)(?:e)?", r"(?:mit )?besten gru(?:ss|s)en", r"mfg", r"lg", r"vg", r"gru(?:ss|s)"),
    mobile_signatures=(r"von meinem \w+ gesendet", r"gesendet von meinem \w+", r"gesendet von \w+"),
    disclaimers=(r"(?:diese|die) (?:e-?mail|nachricht)\b.{0,120}(?:vertraulich|ausschliesslich|bestimmt)",
                 r"vertraulichkeitshinweis", r"haftungsausschluss", r"rechtlicher hinweis",
                 r"sitz der gesellschaft", r"geschaftsfuhrer:", r"registergericht"),
)
