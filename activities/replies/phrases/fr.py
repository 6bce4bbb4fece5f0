"""French: replies to "relance de paiement" mails as French-speaking customers and their servers write
them. Folded: accents gone (payé -> paye, réglé -> regle, reçu -> recu)."""

from __future__ import annotations

from activities.replies.phrases.vocabulary import MEDIUM, STRONG, WEAK, Language, phrase

GAP = r"(?: [\w'.#/-]+){0,4}?"
PAID = (r"(?:payee?s?|reglee?s?|viree?s?|effectuee?s?|envoyee?s?|emise?s?|transferee?s?|executee?s?|partie?s?|"
        r"acquittee?s?|soldee?s?|versee?s?)")
JOURS = r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"

CUES = (
    phrase("paid", STRONG, r"\b(?:nous avons|j'ai|on a|avons|ai)(?: (?:deja|bien|effectivement|hier|aujourd'hui|"
                           r"egalement|enfin))* (?:paye|regle|vire|verse|solde|acquitte|effectue (?:le |un |notre )?"
                           r"(?:paiement|virement|reglement|versement)|envoye (?:le |un |notre )?(?:paiement|virement|"
                           r"cheque|reglement)|procede au (?:paiement|virement|reglement)|transfere|emis (?:le |un )?"
                           r"(?:paiement|virement|cheque))\b"),
    phrase("paid", STRONG, rf"\b(?:facture|factures|paiement|virement|reglement|montant|somme|cheque|solde|versement)"
                           rf"{GAP} (?:a ete|ont ete|est|sont|a bien ete|ont bien ete|est bien|est deja|a deja ete|"
                           rf"est parti|est partie)(?: deja| bien)? {PAID}\b"),
    phrase("paid", STRONG, r"\bdeja (?:ete )?(?:payee?s?|reglee?s?|viree?s?|acquittee?s?)\b|\b(?:virement|paiement|"
                           r"reglement) (?:effectue|envoye|emis|execute|parti)\b"),
    phrase("paid", STRONG, r"\b(?:preuve|justificatif|avis|confirmation|attestation|copie) (?:de|du) (?:paiement|"
                           r"virement|reglement)\b"),
    phrase("paid", MEDIUM, r"\b(?:paye|regle|vire|verse) (?:la moitie|une partie|un acompte|partiellement)\b",
           role="partial"),
    phrase("paid", WEAK, r"\b(?:payee?|reglee?)\b"),
    phrase("promise", STRONG, r"\b(?:nous|je|on) (?:allons|vais|va|devrions|comptons|prevoyons|pensons|esperons|"
                              r"pourrons|pourrions)(?: [\w'.-]+){0,3}? (?:payer|regler|virer|verser|solder|effectuer "
                              r"(?:le |un )?(?:paiement|virement|reglement)|proceder au (?:paiement|virement|"
                              r"reglement)|envoyer (?:le |un )?(?:paiement|virement|cheque))\b"),
    phrase("promise", STRONG, r"\b(?:paierons|payerons|reglerons|virerons|verserons|effectuerons|procederons|paierai|"
                              r"payerai|reglerai|effectuerai|enverrons (?:le |un )?(?:paiement|virement|cheque))\b"),
    phrase("promise", STRONG, rf"\b(?:paiement|virement|reglement|facture|versement|solde){GAP} (?:sera|seront|va "
                              rf"etre|devrait etre|est prevue?|est programmee?|est planifiee?|partira|interviendra|"
                              rf"est en cours)\b"),
    phrase("promise", STRONG, rf"\b(?:nous|je) (?:payons|reglons|virons|paie|regle|versons)(?: [\w'.-]+){{0,3}}? "
                              rf"(?:demain|{JOURS}|le \d|d'ici|avant|fin|la semaine|cette semaine|aujourd'hui|sous|"
                              rf"dans)\b"),
    phrase("dispute", STRONG, r"\b(?:montant|prix|tarif|total|quantite|facture|heures|calcul|tva|remise|somme)"
                              r"(?: [\w'.#/-]+){0,4}? (?:est|sont|etait|semble|parait|me semble|nous semble)"
                              r"(?: [\w'.-]+){0,2}? (?:incorrecte?s?|erronee?s?|faux|fausse|trop eleve(?:e)?s?|pas "
                              r"correcte?s?|inexacte?s?|pas bon(?:ne)?)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:erreur (?:de|sur|dans) (?:la |le )?(?:facture|facturation|montant|prix|"
                              r"quantite)|contestons|contester|contestation|litige|reclamation|en desaccord|pas "
                              r"d'accord|facture en double|facturee? deux fois|double facturation|surfacture\w*|non "
                              r"commandee?s?|jamais commandee?s?|non livree?s?|jamais livree?s?|endommagee?s?|"
                              r"defectueu(?:x|se)s?)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:refusons de payer|ne (?:la )?paierons pas|ne (?:la )?reglerons pas|ne (?:la )?"
                              r"payerons pas)\b", negatable=False),
    phrase("dispute", MEDIUM, r"\b(?:un|l'|votre|cet|d'un) avoir\b"),
    phrase("dispute", STRONG, r"\b(?:comporte|contient|il y a) (?:une|des) erreurs?\b"),
    phrase("dispute", STRONG, r"\bne (?:correspond|correspondent) pas\b|\becart\b|\bjamais (?:ete )?(?:realise|effectue"
                              r"|"
                              r"livre)e?s?\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:pas|jamais) (?:encore )?(?:recu|eu|vu|trouve)(?: [\w'.-]+){0,2}? (?:la |"
                                   r"votre |cette |de |aucune )?factures?\b"
                                   r"|\bfacture(?: [\w'.#-]+){0,3}? (?:introuvable|"
                                   r"manquante|pas jointe|non jointe|jamais recue|pas recue|non recue)\b",
           negatable=False),
    phrase("copy_request", STRONG, r"\b(?:ne (?:trouvons|retrouvons|trouve|retrouve) pas|n'avons pas (?:trouve|"
                                   r"retrouve)|impossible de (?:trouver|retrouver|ouvrir))(?: [\w'.-]+){0,2}? (?:la |"
                                   r"votre |cette |de )?facture\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:copie|duplicata|double|pdf)(?: [\w'.-]+){0,2}? (?:de la|de cette|de votre|"
                                   r"la) facture\b|\b(?:renvoyer|renvoyez|envoyer|envoyez|transmettre|transmettez"
                                   r"|faire "
                                   r"parvenir|renvoyer)(?: [\w'.-]+){0,3}? (?:la facture|une copie|le duplicata)\b"),
    phrase("plan_request", STRONG, r"\b(?:echeancier|plan de paiement|paiement en plusieurs fois|en plusieurs "
                                   r"(?:fois|versements|mensualites)|mensualites|etaler|echelonner|echelonnement|"
                                   r"report de paiement|delai de paiement|delai supplementaire)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:difficultes (?:financieres|de tresorerie)|problemes? de tresorerie|plus de "
                                   r"temps)\b"),
    phrase("wrong_contact", STRONG, r"\bne (?:fait|fais) plus partie\b|\bne (?:suis|sommes|est) plus (?:en charge"
                                    r"|responsable|chez|"
                                    r"dans|au sein)\b|\bn'(?:est|suis) plus (?:chez|dans|en charge|"
                                    r"responsable|employee?|au sein)\b|\b(?:a|ai) quitte (?:la societe|l'entreprise|"
                                    r"la societe|notre societe)\b", negatable=False),
    phrase("wrong_contact", STRONG, r"\bpas (?:la bonne personne|le bon interlocuteur|le bon contact|en charge|"
                                    r"responsable)\b|\bmauvais(?:e)? (?:destinataire|adresse|contact|interlocuteur)\b|"
                                    r"\b(?:adresser|envoyer|transmettre) (?:vos |les )?factures a\b", negatable=False),
    phrase("unsubscribe", STRONG, r"\b(?:desabonner|desinscrire|desabonnement|desinscription|ne plus (?:me |nous )?"
                                  r"(?:contacter|envoyer|ecrire)|retirez-moi|retirer (?:mon adresse|de votre liste))\b",
           negatable=False),
    phrase("out_of_office", STRONG, r"\b(?:absente?|en conges?|en vacances|hors du bureau|en deplacement|en arret "
                                    r"maladie|en conge maternite|pas au bureau|acces limite a (?:mes|ma) (?:e-?mails|"
                                    r"messagerie))\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:de retour|je serai de retour|retour prevu|je reviens)\b"),
    phrase("bounce", STRONG, r"\b(?:la remise (?:aux destinataires|a echoue)|n'a pas pu etre (?:remis|distribue)|"
                             r"destinataire inconnu|adresse introuvable|echec de (?:la )?(?:remise|distribution))\b"),
    phrase("question", MEDIUM, r"\b(?:pourquoi|comment|quand|quel|quelle|quels|quelles|ou|qui|est-ce que|pourriez-vous|"
                               r"pouvez-vous)\b[^.!?\n]{0,120}\?"),
    phrase("question", MEDIUM, r"\b(?:coordonnees bancaires|rib|references bancaires|une question)\b"),
)

SUBJECT_CUES = (
    phrase("out_of_office", STRONG, r"\b(?:absent du bureau|absente du bureau|message d'absence|absence|absent|"
                                    r"absente|en conges)\b"),
    phrase("out_of_office", WEAK, r"^(?:reponse automatique|reponse auto)"),
    phrase("bounce", STRONG, r"^(?:non remis|non distribuable|echec de (?:la )?(?:remise|distribution))"),
    phrase("unsubscribe", STRONG, r"^(?:desabonner|desinscription)\W*$"),
)

FRENCH = Language(
    code="fr",
    cues=CUES,
    subject_cues=SUBJECT_CUES,
    stopwords=frozenset("le la les et nous vous est des une un pour facture avons paiement merci bonjour cordialement "
                        "de du sur avec pas ne ce cette".split()),
    negations=("pas", "jamais", "ne", "n'", "aucun", "aucune", "sans", "non"),
    clause_breaks=("mais", "cependant", "toutefois", "pourtant"),
    hypothetical=("jusqu'a ce que", "des que", "quand", "lorsque", "si", "avant que", "une fois que"),
    conditions=(r"\b(?:des que|une fois que|quand|lorsque|apres|si)\b(?: [\w'-]+){0,6}? (?:vous|votre|vos|nous "
                r"(?:recevrons|aurons))\b", r"\b(?:apres|des) (?:reception|correction) (?:de|du|d')\b"),
    remainder=(r"\b(?:le reste|le solde|le restant|le montant restant|l'autre moitie|la difference)\b",),
    months={"janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5,
            "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
            "decembre": 12},
    weekdays={"lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6},
    numbers={"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
             "neuf": 9, "dix": 10, "quinze": 15, "trente": 30},
    day_words={"aujourd'hui": 0, "aujourdhui": 0, "ce matin": 0, "cet apres-midi": 0, "ce soir": 0,
               "dans la journee": 0, "demain": 1, "apres-demain": 2, "apres demain": 2, "hier": -1,
               "hier soir": -1, "avant-hier": -2},
    next_words=("prochain", "prochaine"),
    last_words=("dernier", "derniere", "passe", "passee"),
    this_words=("ce", "cette"),
    units={"jour": "day", "jours": "day", "jours ouvres": "business_day", "jours ouvrables": "business_day",
           "semaine": "week", "semaines": "week", "mois": "month"},
    within=("dans", "sous", "d'ici", "d'ici a", "dans les"),
    ago_before=("il y a",),
    periods={"fin du mois": ("month_end", 0), "fin de mois": ("month_end", 0), "fin de ce mois": ("month_end", 0),
             "fin du mois en cours": ("month_end", 0), "fin du mois prochain": ("month_end", 1),
             "fin du mois suivant": ("month_end", 1), "le mois prochain": ("month", 1), "mois prochain": ("month", 1),
             "fin du mois dernier": ("month_end", -1), "le mois dernier": ("vague", -1), "ce mois-ci": ("month", 0),
             "fin de la semaine": ("week_end", 0), "fin de semaine": ("week_end", 0),
             "fin de cette semaine": ("week_end", 0), "cette semaine": ("week", 0),
             "fin de la semaine prochaine": ("week_end", 1), "la semaine prochaine": ("week", 1),
             "semaine prochaine": ("week", 1), "la semaine derniere": ("vague", -1),
             "debut du mois prochain": ("vague", 1), "au plus vite": ("vague", 1), "rapidement": ("vague", 1),
             "prochainement": ("vague", 1),
             "dans les prochains jours": ("vague", 1)},
    month_end_words=("fin", "fin de", "fin du mois de", "a la fin de", "a la fin du mois de", "fin de mois de"),
    month_mid_words=("mi-", "mi", "mi mois de", "la mi-", "courant", "mi-mois de"),
    day_of_month=(r"\b(?:le|au|du|jusqu'au|avant le|d'ici le) (?P<day>\d{1,2})(?:er|e)?(?: (?:(?P<next>du mois "
                  r"prochain)|(?P<this>de ce mois|du mois en cours)))?\b(?! ?(?:%|\d|[$€£]|eur|h\b|heures?\b))",),
    until_words=("jusqu'au", "jusqu'a", "jusqu'a la", "jusqu'a le"),
    through_words=("inclus", "compris"),
    return_words=("de retour", "retour", "reviens", "reprendrai", "serai joignable", "serai a nouveau"),
    range_words=("au", "-", "jusqu'au"),
    reference_words=("du", "datee", "date du", "echeance", "echue", "emise le"),
    wrote=("a ecrit",),
    header_from=("de",),
    header_fields=("envoye", "date", "a", "cc", "objet"),
    separators=(r"-{2,}\s*message d'origine\s*-{2,}", r"message d'origine", r"message transfere",
                r"debut du message (?:reexpedie|transfere)", r"-{2,}\s*message transfere"),
    sign_offs=(r"(?:bien )?cordialement", r"bien a vous", r"(?:sinceres |meilleures |bien sinceres )?salutations",
               r"bonne (?:journee|soiree)", r"a bientot"),
    mobile_signatures=(r"envoye de mon \w+", r"envoye depuis (?:mon )?\w+", r"obtenir outlook pour"),
    disclaimers=(r"(?:ce|le) (?:message|courriel|e-?mail)\b.{0,120}(?:confidentiel|destine exclusivement|"
                 r"strictement)", r"avis de confidentialite", r"avertissement\s*:"),
)
