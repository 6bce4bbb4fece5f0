"""Italian: replies to "sollecito di pagamento" mails. Folded: accents gone, so "è" reads "e"."""

from __future__ import annotations

from activities.replies.phrases.vocabulary import MEDIUM, STRONG, WEAK, Language, phrase

GAP = r"(?: [\w.'#/-]+){0,4}?"
GIORNI = r"(?:lunedi|martedi|mercoledi|giovedi|venerdi|sabato|domenica)"

CUES = (
    phrase("paid", STRONG, r"\b(?:abbiamo|ho|avevamo|avevo)(?: (?:gia|appena|regolarmente|ieri|oggi))* (?:pagato|"
                           r"saldato|bonificato|versato|effettuato (?:il )?(?:pagamento|bonifico|versamento)|inviato "
                           r"(?:il )?(?:pagamento|bonifico)|disposto (?:il )?(?:pagamento|bonifico)|eseguito (?:il )?"
                           r"(?:pagamento|bonifico))\b"),
    phrase("paid", STRONG, rf"\b(?:fattura|pagamento|bonifico|importo|saldo|versamento){GAP} (?:e stat[oa]|sono "
                           rf"stat[ie]|e gia stat[oa]|risulta|e)(?: gia)? (?:pagat[oaie]|saldat[oaie]|effettuat[oaie]|"
                           rf"inviat[oaie]|eseguit[oaie]|dispost[oaie]|bonificat[oaie]|partit[oaie]|versat[oaie]"
                           rf"|accreditat[oaie]|"
                           rf"saldat[oaie])\b"),
    phrase("paid", STRONG, r"\bgia (?:pagat[oaie]|saldat[oaie]|bonificat[oaie])\b|\b(?:prova|ricevuta|conferma|"
                           r"contabile|copia) (?:di|del) (?:avvenuto )?(?:pagamento|bonifico)\b"),
    phrase("paid", MEDIUM, r"\b(?:pagato|versato|saldato) (?:la meta|una parte|parte|un acconto)\b|\bpagamento "
                           r"parziale\b", role="partial"),
    phrase("paid", WEAK, r"\bpagat[oa]\b"),
    phrase("promise", STRONG, r"\b(?:pagheremo|salderemo|effettueremo|bonificheremo|verseremo|paghero|saldero|"
                              r"effettuero|provvederemo|invieremo il (?:pagamento|bonifico)|disporremo|procederemo "
                              r"(?:al|con il) (?:pagamento|bonifico|saldo))\b"),
    phrase("promise", STRONG, rf"\b(?:il )?(?:pagamento|bonifico|fattura|saldo){GAP} (?:sara|verra|e previsto|e "
                              rf"programmato|e pianificato|partira|e in programma)\b"),
    phrase("promise", MEDIUM, r"\b(?:vogliamo|intendiamo|contiamo di|speriamo di|cercheremo di|possiamo|potremo)"
                              r"(?: \w+){0,2}? (?:pagare|saldare|effettuare il pagamento|bonificare|procedere al "
                              r"pagamento)\b"),
    phrase("promise", STRONG, rf"\b(?:paghiamo|saldiamo|bonifichiamo)(?: [\w.'-]+){{0,3}}? (?:domani|oggi|entro|"
                              rf"{GIORNI}|la prossima|a fine|il \d)\b"),
    phrase("dispute", STRONG, r"\b(?:importo|prezzo|totale|quantita|fattura|ore|iva|sconto"
                              r"|calcolo)(?: [\w.'#/-]+){0,4}?"
                              r" (?:e|sono|sembra|risulta|era)(?: \w+){0,2}? (?:errat[oaie]|sbagliat[oaie]|non "
                              r"corrett[oaie]|troppo alt[oaie]|incorrett[oaie])\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:contestiamo|contestazione|contestare|reclamo|non siamo d'accordo|fattura doppia|"
                              r"fatturato due volte|addebitato due volte|non (?:abbiamo )?ordinato|merce (?:danneggiata"
                              r"|"
                              r"difettosa|non consegnata)|errore (?:in|nella) fattura)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:non pagheremo|ci rifiutiamo di pagare)\b", negatable=False),
    phrase("dispute", MEDIUM, r"\bnota di credito\b"),
    phrase("dispute", STRONG, r"\b(?:c'e|contiene|presenta|ha) (?:un|alcuni|degli) (?:errore|errori)\b"),
    phrase("dispute", STRONG, r"\bnon (?:corrisponde|corrispondono|coincide|coincidono)\b"
                              r"|\bdiscrepanza\b", negatable=False),
    phrase("copy_request", STRONG, r"\bnon (?:abbiamo|ho) (?:ancora )?ricevuto(?: \w+){0,2}? (?:la |alcuna |questa |"
                                   r"vostra )?fattura\b|\bfattura non (?:ancora )?ricevuta\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:copia|duplicato|pdf)(?: \w+){0,2}? (?:della|di questa) fattura\b|\b(?:"
                                   r"reinviare|reinviarci|rimandare|rimandarci|inviarci|inviare|mandarci|mandare)"
                                   r"(?: \w+){0,3}? (?:la fattura|copia|una copia)\b"),
    phrase("plan_request", STRONG, r"\b(?:rateizzazione|rateizzare|a rate|in rate|pagamento rateale|piano di "
                                   r"(?:pagamento|rientro)|dilazione|dilazionare|proroga)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:piu tempo|difficolta (?:economiche|finanziarie)|problemi di liquidita)\b"),
    phrase("wrong_contact", STRONG, r"\bnon (?:lavora|lavoro|e|sono) piu\b|\bnon (?:sono|e) (?:la persona giusta|il "
                                    r"referente|la referente|responsabile)\b|\b(?:indirizzo|destinatario|contatto|"
                                    r"persona) (?:sbagliat[oa]|errat[oa])\b|\binviare (?:le )?fatture a\b",
           negatable=False),
    phrase("unsubscribe", STRONG, r"\b(?:disiscriv\w*|cancellatemi|cancellarmi|rimuovetemi|non (?:inviatemi|"
                                  r"contattatemi|scrivetemi) piu|annullare l'iscrizione)\b", negatable=False),
    phrase("out_of_office", STRONG, r"\b(?:fuori ufficio|fuori sede|in ferie|in vacanza|assente|in malattia|in "
                                    r"congedo|accesso limitato alla posta)\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:rientrero|saro di nuovo|di ritorno|rientro previsto|rientro in ufficio)\b"),
    phrase("bounce", STRONG, r"\b(?:recapito non riuscito|non e stato possibile recapitare"
                             r"|destinatario sconosciuto)\b"),
    phrase("question", MEDIUM, r"\b(?:cosa|quale|quali|perche|come|quando|dove|chi|potreste|potete|puo)\b"
                               r"[^.!?\n]{0,120}\?"),
    phrase("question", MEDIUM, r"\b(?:coordinate bancarie|una domanda)\b"),
)

SUBJECT_CUES = (
    phrase("out_of_office", STRONG, r"\b(?:fuori ufficio|fuori sede|assenza|assente|in ferie)\b"),
    phrase("out_of_office", WEAK, r"^(?:risposta automatica)"),
    phrase("bounce", STRONG, r"^(?:non recapitabile|mancato recapito|impossibile recapitare)"),
    phrase("unsubscribe", STRONG, r"^(?:disiscrizione|cancellami)\W*$"),
)

ITALIAN = Language(
    code="it",
    cues=CUES,
    subject_cues=SUBJECT_CUES,
    stopwords=frozenset("il la le e abbiamo che di per con una fattura non del della grazie cordiali saluti "
                        "buongiorno gentile stato".split()),
    negations=("non", "mai", "nessun", "nessuna", "senza"),
    clause_breaks=("ma", "pero", "tuttavia", "sebbene"),
    hypothetical=("finche", "quando", "se", "appena", "prima che", "una volta che"),
    conditions=(r"\b(?:quando|appena|non appena|una volta che|dopo che|se)\b(?: [\w'-]+){0,6}? (?:voi|ci "
                r"(?:invierete|manderete)|riceveremo|correggerete|avrete)\b",),
    remainder=(r"\b(?:il resto|il saldo|il restante|la differenza|l'altra meta|l'importo residuo)\b",),
    months={"gennaio": 1, "gen": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "mag": 5, "giugno": 6,
            "giu": 6, "luglio": 7, "lug": 7, "agosto": 8, "settembre": 9, "sett": 9, "ottobre": 10, "ott": 10,
            "novembre": 11, "dicembre": 12},
    weekdays={"lunedi": 0, "martedi": 1, "mercoledi": 2, "giovedi": 3, "venerdi": 4, "sabato": 5, "domenica": 6},
    numbers={"un": 1, "una": 1, "uno": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7,
             "otto": 8, "nove": 9, "dieci": 10, "quindici": 15, "trenta": 30},
    day_words={"oggi": 0, "stamattina": 0, "stamane": 0, "oggi pomeriggio": 0, "stasera": 0, "in giornata": 0,
               "domani": 1, "dopodomani": 2, "ieri": -1, "ieri sera": -1, "l'altro ieri": -2, "altroieri": -2},
    next_words=("prossimo", "prossima"),
    last_words=("scorso", "scorsa", "passato", "passata"),
    this_words=("questo", "questa"),
    units={"giorno": "day", "giorni": "day", "giorni lavorativi": "business_day", "settimana": "week",
           "settimane": "week",
           "mese": "month", "mesi": "month"},
    within=("tra", "fra", "entro", "entro i prossimi"),
    ago_after=("fa",),
    periods={"fine mese": ("month_end", 0), "fine del mese": ("month_end", 0), "fine di questo mese": ("month_end", 0),
             "fine mese prossimo": ("month_end", 1), "fine del mese prossimo": ("month_end", 1),
             "il mese prossimo": ("month", 1), "mese prossimo": ("month", 1), "il mese scorso": ("vague", -1),
             "fine del mese scorso": ("month_end", -1), "questo mese": ("month", 0),
             "fine settimana": ("week_end", 0), "fine della settimana": ("week_end", 0),
             "fine di questa settimana": ("week_end", 0), "questa settimana": ("week", 0),
             "fine della prossima settimana": ("week_end", 1), "la prossima settimana": ("week", 1),
             "settimana prossima": ("week", 1), "la settimana prossima": ("week", 1),
             "la settimana scorsa": ("vague", -1), "al piu presto": ("vague", 1), "a breve": ("vague", 1),
             "nei prossimi giorni": ("vague", 1)},
    month_end_words=("fine", "fine di", "a fine"),
    month_mid_words=("meta", "a meta", "meta di"),
    day_of_month=(r"\b(?:il|entro il|dal|al) (?P<day>\d{1,2})(?: (?:(?P<next>del mese prossimo|del prossimo mese)|"
                  r"(?P<this>di questo mese)))?\b(?! ?(?:%|\d|[$€£]|eur))",),
    until_words=("fino al", "fino a", "sino al"),
    through_words=("compreso", "incluso"),
    return_words=("rientrero", "rientro", "di ritorno", "saro di nuovo", "tornero", "riprendero"),
    range_words=("al", "-", "fino al"),
    reference_words=("del", "datata", "emessa", "scadenza", "scaduta"),
    wrote=("ha scritto",),
    header_from=("da",),
    header_fields=("inviato", "data", "a", "cc", "oggetto"),
    separators=(r"-{2,}\s*messaggio originale\s*-{2,}", r"messaggio originale", r"messaggio inoltrato",
                r"-{2,}\s*messaggio inoltrato"),
    sign_offs=(r"(?:cordiali|distinti|cari|i migliori) saluti", r"saluti", r"cordialmente", r"un caro saluto"),
    mobile_signatures=(r"inviato da(?:l mio)? \w+",),
    disclaimers=(r"(?:questo|il presente) (?:messaggio|e-?mail)\b.{0,120}(?:riservat|confidenzial|destinat)",),
)
