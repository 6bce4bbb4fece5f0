"""Spanish: replies to "recordatorio de pago" mails. Folded: accents and ñ lose their marks (mañana ->
manana), so "pasado manana" and "manana" are told apart by the words around them."""

from __future__ import annotations

from activities.replies.phrases.vocabulary import MEDIUM, STRONG, WEAK, Language, phrase

GAP = r"(?: [\w.#/-]+){0,4}?"
DONE = (r"(?:pagad[oa]s?|abonad[oa]s?|transferid[oa]s?|realizad[oa]s?|enviad[oa]s?|efectuad[oa]s?|liquidad[oa]s?"
        r"|saldad[oa]s?)")
DIAS = r"(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo)"

CUES = (
    phrase("paid", STRONG, r"\b(?:ya )?(?:hemos|he|ya hemos|ya he)(?: (?:ya|hoy|ayer))? (?:pagado|abonado|transferido|"
                           r"liquidado|saldado|realizado (?:el |la )?(?:pago|transferencia)|enviado (?:el |la )?(?:pago"
                           r"|"
                           r"transferencia)|efectuado (?:el |la )?(?:pago|transferencia)|hecho (?:el pago|la "
                           r"transferencia))\b"),
    phrase("paid", MEDIUM, r"\b(?:ya )?(?:transferimos|abonamos|liquidamos|(?:realizamos|hicimos|efectuamos|enviamos"
                           r"|ordenamos) (?:el "
                           r"pago|la transferencia|el abono|el ingreso)|pague|pagamos "
                           r"(?:ayer|el pasado|la semana pasada|hace))\b"),
    phrase("paid", STRONG, rf"\b(?:factura|pago|transferencia|importe|monto|cheque|saldo){GAP} (?:(?:ha sido|fue|ya "
                           rf"fue|ya ha sido|esta|ya esta|quedo|ya quedo|han sido|fueron) {DONE}|se (?:ha |han )?"
                           rf"(?:realizo|efectuo|envio|pago|transfirio|abono|realizado|efectuado|enviado|pagado|"
                           rf"transferido|abonado))\b"),
    phrase("paid", STRONG, r"\bya (?:esta |estan )?(?:pagad[oa]s?|abonad[oa]s?|liquidad[oa]s?)\b|\b(?:comprobante|"
                           r"justificante|confirmacion|prueba) de(?:l)? (?:pago|transferencia)\b"),
    phrase("paid", MEDIUM, r"\b(?:pagado|abonado|transferido) (?:la mitad|una parte|parte)\b|\bpago parcial\b",
           role="partial"),
    phrase("paid", WEAK, r"\bpagad[oa]\b"),
    phrase("promise", STRONG, r"\b(?:vamos a|voy a|pensamos|intentaremos|podremos|procederemos a|vamos a proceder a)"
                              r"(?: \w+){0,2}? (?:pagar|abonar|transferir|liquidar|saldar|realizar el pago|hacer "
                              r"(?:el pago|la transferencia)|efectuar el pago)\b"),
    phrase("promise", MEDIUM, r"\b(?:esperamos|podemos|queremos)(?: \w+){0,2}? (?:pagar|abonar|transferir|liquidar|"
                              r"saldar|realizar el pago|hacer el pago)\b"),
    phrase("promise", STRONG, r"\b(?:pagaremos|abonaremos|transferiremos|liquidaremos|realizaremos (?:el pago|la "
                              r"transferencia)|haremos (?:el pago|la transferencia)|pagare|abonare|transferire|"
                              r"efectuaremos|enviaremos (?:el pago|la transferencia))\b"),
    phrase("promise", STRONG, rf"\b(?:pago|transferencia|factura|importe|saldo){GAP} (?:sera|seran|se realizara|se "
                              rf"hara|se efectuara|esta programad[oa]|esta previst[oa]|se pagara|se abonara|se "
                              rf"enviara|se transferira|saldra)\b"),
    phrase("promise", STRONG, rf"\b(?:le |les )?(?:pagamos|transferimos|abonamos) (?:el|la|este|esta|manana|{DIAS}|"
                              rf"antes|a fin|a final|la proxima|la semana|dentro)\b(?! pasad)"),
    phrase("dispute", STRONG, r"\b(?:importe|precio|monto|total|cantidad|factura|horas|iva|descuento|calculo|cobro)"
                              r"(?: [\w.#/-]+){0,4}? (?:es|son|esta|estan|parece"
                              r"|parecen)(?: \w+){0,2}? (?:incorrect[oa]s"
                              r"?|erroneo|erronea|equivocad[oa]s?|demasiado alt[oa]|mal|excesiv[oa])\b",
           negatable=False),
    phrase("dispute", STRONG, r"\b(?:no estamos de acuerdo|no estoy de acuerdo|disputamos|reclamamos|reclamacion|"
                              r"disputa|impugnamos|rechazamos|factura duplicada|cobrado dos veces|facturado dos veces|"
                              r"no (?:lo )?(?:pedimos|encargamos)|nunca (?:recibimos|pedimos) (?:la |el )?(?:mercancia"
                              r"|pedido|material)|mercancia (?:danada|defectuosa)|error en la factura)\b",
           negatable=False),
    phrase("dispute", STRONG, r"\b(?:no vamos a pagar|no pagaremos|nos negamos a pagar)\b", negatable=False),
    phrase("dispute", MEDIUM, r"\bnota de credito\b|\babono pendiente\b"),
    phrase("dispute", STRONG, r"\b(?:tiene|hay|contiene|lleva) (?:un|algun|varios) (?:error|errores|fallo)\b"),
    phrase("dispute", STRONG, r"\bno (?:coincide|coinciden|corresponde|corresponden|cuadra|cuadran)\b|\bdiscrepancia\b",
           negatable=False),
    phrase("copy_request", STRONG, r"\bno (?:hemos |he )?(?:recibido|recibimos|tenemos|encontramos)(?: \w+){0,2}? "
                                   r"(?:la |ninguna |esta |su |dicha )?factura\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:copia|duplicado|pdf)(?: \w+){0,2}? (?:de la|de esta|de su|de dicha) factura"
                                   r"\b|\b(?:reenviar|reenvien|reenvie|reenviarnos|enviar|envien|envie|enviarnos|mandar"
                                   r"|"
                                   r"manden|mande|mandarnos)(?:nos|me)?(?: \w+){0,3}? (?:la factura|una copia"
                                   r"|copia)\b"),
    phrase("plan_request", STRONG, r"\b(?:plan de pagos?|pago a plazos|pagar a plazos|en (?:\w+ )?plazos|cuotas|"
                                   r"fraccionar|fraccionado|aplazar|aplazamiento|prorroga)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:mas tiempo|dificultades (?:economicas|financieras)|problemas de liquidez)\b"),
    phrase("wrong_contact", STRONG, r"\bya no (?:trabaja|trabajo|esta|estoy|forma parte|es responsable|soy "
                                    r"responsable)\b|\bno (?:soy|es) la persona (?:adecuada|correcta|indicada|"
                                    r"responsable)\b|\b(?:persona|direccion|contacto|destinatario|correo) "
                                    r"(?:equivocad[oa]|incorrect[oa])\b|\benv(?:ie|ien|iar)(?: \w+){0,2}? facturas a\b",
           negatable=False),
    phrase("unsubscribe", STRONG, r"\b(?:(?:darme|dar|denme|deme|dame|darnos|dennos) de baja|baja de (?:la|su) lista"
                                  r"|no (?:me |nos )?"
                                  r"(?:envien|manden|escriban|contacten) mas|cancelar (?:la )?suscripcion"
                                  r"|eliminen mi)\b",
           negatable=False),
    phrase("out_of_office", STRONG, r"\b(?:fuera de la oficina|fuera de oficina|de vacaciones|ausente|de viaje|no "
                                    r"estare disponible|no me encuentro en la oficina|acceso limitado al correo|de "
                                    r"baja medica)\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:regresare|volvere|estare de vuelta|de regreso|me reincorporo|me "
                                    r"reincorporare)\b"),
    phrase("bounce", STRONG, r"\b(?:error al entregar|no se pudo entregar|no se ha podido entregar|destinatario "
                             r"desconocido|no se puede entregar)\b"),
    phrase("question", MEDIUM, r"\b(?:que|cual|cuales|por que|como|cuando|donde|quien|podrian|podria|pueden|puede)\b"
                               r"[^.!?\n]{0,120}\?"),
    phrase("question", MEDIUM, r"\b(?:datos bancarios|cuenta bancaria|una pregunta)\b"),
)

SUBJECT_CUES = (
    phrase("out_of_office", STRONG, r"\b(?:fuera de la oficina|fuera de oficina|ausente|ausencia|vacaciones)\b"),
    phrase("out_of_office", WEAK, r"^(?:respuesta automatica)"),
    phrase("bounce", STRONG, r"^(?:no se puede entregar|no entregado|no entregable|error de entrega)"),
    phrase("unsubscribe", STRONG, r"^(?:baja|darme de baja)\W*$"),
)

SPANISH = Language(
    code="es",
    cues=CUES,
    subject_cues=SUBJECT_CUES,
    stopwords=frozenset("el la los las y hemos que por para con una factura pago gracias saludos del al lo su "
                        "muchas hola".split()),
    negations=("no", "nunca", "tampoco", "ningun", "ninguna", "sin", "todavia no", "aun no"),
    clause_breaks=("pero", "sin embargo", "aunque"),
    hypothetical=("hasta que", "cuando", "si", "en cuanto", "antes de que", "una vez que"),
    conditions=(r"\b(?:cuando|en cuanto|una vez que|despues de que|si|tan pronto como)\b(?: [\w'-]+){0,6}? (?:ustedes"
                r"|usted|nos (?:envien|manden|corrijan)|recibamos|corrijan|envien)\b",),
    remainder=(r"\b(?:el resto|el saldo|lo que falta|la diferencia|la otra mitad|el importe restante)\b",),
    months={"enero": 1, "ene": 1, "febrero": 2, "marzo": 3, "abril": 4, "abr": 4, "mayo": 5, "junio": 6, "julio": 7,
            "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12, "dic": 12},
    weekdays={"lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6},
    numbers={"un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
             "nueve": 9, "diez": 10, "quince": 15, "treinta": 30},
    day_words={"hoy": 0, "esta manana": 0, "esta tarde": 0, "esta noche": 0, "hoy mismo": 0, "manana": 1,
               "manana por la manana": 1, "pasado manana": 2, "ayer": -1, "anoche": -1, "anteayer": -2,
               "antier": -2},
    next_words=("proximo", "proxima", "que viene", "siguiente"),
    last_words=("pasado", "pasada", "anterior", "ultimo"),
    this_words=("este", "esta"),
    units={"dia": "day", "dias": "day", "dias habiles": "business_day", "dias laborables": "business_day",
           "semana": "week", "semanas": "week", "mes": "month",
           "meses": "month"},
    within=("en", "dentro de", "en los proximos", "en las proximas"),
    ago_before=("hace",),
    periods={"fin de mes": ("month_end", 0), "final de mes": ("month_end", 0), "fin del mes": ("month_end", 0),
             "final del mes": ("month_end", 0), "finales de mes": ("month_end", 0), "fin de este mes": ("month_end", 0),
             "fin del mes que viene": ("month_end", 1), "fin del proximo mes": ("month_end", 1),
             "el mes que viene": ("month", 1), "el proximo mes": ("month", 1), "el mes pasado": ("vague", -1),
             "fin del mes pasado": ("month_end", -1), "este mes": ("month", 0), "fin de semana": ("week_end", 0),
             "final de semana": ("week_end", 0), "fin de esta semana": ("week_end", 0), "esta semana": ("week", 0),
             "fin de la semana que viene": ("week_end", 1), "fin de la proxima semana": ("week_end", 1),
             "la semana que viene": ("week", 1), "la proxima semana": ("week", 1), "semana que viene": ("week", 1),
             "la semana pasada": ("vague", -1), "cuanto antes": ("vague", 1), "a la brevedad": ("vague", 1),
             "en breve": ("vague", 1), "en los proximos dias": ("vague", 1)},
    month_end_words=("fin de", "finales de", "final de", "a finales de", "a fin de"),
    month_mid_words=("mediados de", "a mediados de"),
    day_of_month=(r"\bel (?:dia )?(?P<day>\d{1,2})(?: (?:(?P<next>del mes que viene|del proximo mes)|(?P<this>de este"
                  r" mes)))?\b(?! ?(?:%|\d|[$€£]|eur|de \d))",),
    until_words=("hasta el", "hasta"),
    through_words=("inclusive", "incluido"),
    return_words=("regreso", "regresare", "volvere", "de vuelta", "estare de vuelta", "me reincorporo",
                  "me reincorporare", "regresamos", "volvemos"),
    range_words=("al", "-", "hasta el"),
    reference_words=("de fecha", "fechada", "emitida", "vencimiento", "vencida", "vence"),
    wrote=("escribio",),
    header_from=("de",),
    header_fields=("enviado", "enviado el", "fecha", "para", "cc", "asunto"),
    separators=(r"-{2,}\s*mensaje original\s*-{2,}", r"mensaje original", r"mensaje reenviado",
                r"-{2,}\s*mensaje reenviado"),
    sign_offs=(r"(?:un )?(?:cordial )?saludos?(?: cordiales)?", r"atentamente", r"reciba un cordial saludo",
               r"un abrazo"),
    mobile_signatures=(r"enviado desde mi \w+", r"enviado desde \w+"),
    disclaimers=(r"(?:este|el) (?:mensaje|correo)\b.{0,120}(?:confidencial|dirigido exclusivamente)",
                 r"aviso (?:legal|de confidencialidad)"),
)
