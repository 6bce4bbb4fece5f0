"""Portuguese (Brazil and Portugal): replies to "lembrete de pagamento" mails. Folded: ã -> a, ç -> c."""

from __future__ import annotations

from activities.replies.phrases.vocabulary import MEDIUM, STRONG, Language, phrase

GAP = r"(?: [\w.#/-]+){0,4}?"
DONE = (r"(?:pag[oa]s?|quitad[oa]s?|liquidad[oa]s?|transferid[oa]s?|efetuad[oa]s?|efectuad[oa]s?|realizad[oa]s?|"
        r"enviad[oa]s?)")
DIAS = r"(?:segunda-feira|terca-feira|quarta-feira|quinta-feira|sexta-feira|sabado|domingo)"

CUES = (
    phrase("paid", STRONG, r"\b(?:ja )?(?:transferimos|liquidamos|quitamos|efetuamos o pagamento|efectuamos o pagamento"
                           r"|"
                           r"fizemos (?:o pagamento|a transferencia)|realizamos o pagamento|enviamos o pagamento)\b"),
    phrase("paid", MEDIUM, r"\b(?:ja pagamos|pagamos (?:ontem|na|no dia|semana passada|ha))\b"),
    phrase("paid", STRONG, rf"\b(?:fatura|factura|pagamento|transferencia|valor|boleto|montante){GAP} (?:foi|ja foi|"
                           rf"foram|esta|ja esta|estao)(?: ja)? {DONE}\b|\bja (?:foi|foram|esta|estao) {DONE}\b"),
    phrase("paid", STRONG, r"\b(?:comprovante|comprovativo) (?:de|do) (?:pagamento|transferencia)\b"),
    phrase("paid", MEDIUM, r"\b(?:pagamos|transferimos) (?:metade|uma parte|parte)\b|\bpagamento parcial\b",
           role="partial"),
    phrase("promise", STRONG, r"\b(?:vamos|iremos|vou|irei|pretendemos)(?: \w+){0,2}? (?:pagar|quitar|liquidar"
                              r"|transferir"
                              r"|efetuar o pagamento|fazer o pagamento|realizar o pagamento)\b"),
    phrase("promise", MEDIUM, r"\b(?:podemos|poderemos)(?: \w+){0,2}? (?:pagar|quitar|liquidar|transferir|efetuar o "
                              r"pagamento|fazer o pagamento)\b"),
    phrase("promise", STRONG, r"\b(?:pagaremos|quitaremos|liquidaremos|transferiremos|efetuaremos|faremos o pagamento|"
                              r"pagarei|realizaremos o pagamento)\b"),
    phrase("promise", STRONG, rf"\b(?:pagamento|transferencia|fatura|factura){GAP} (?:sera|vai ser|esta (?:agendad[oa]"
                              rf"|programad[oa]|previst[oa]))\b"),
    phrase("promise", STRONG, rf"\b(?:pagamos|transferimos) (?:amanha|hoje|ate|na proxima|{DIAS}|no fim|no final)\b"),
    phrase("dispute", STRONG, r"\b(?:valor|preco|montante|total|quantidade|fatura|factura|horas|iva|desconto|calculo)"
                              r"(?: [\w.#/-]+){0,4}? (?:esta|estao|e|parece)(?: \w+){0,2}? (?:errad[oa]s?"
                              r"|incorret[oa]s?"
                              r"|equivocad[oa]s?|muito alt[oa])\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:contestamos|contestar|contestacao|disputa|reclamacao|nao concordamos|discordamos|"
                              r"fatura duplicada|cobrado duas vezes|faturado duas vezes|nao encomendamos|mercadoria "
                              r"(?:danificada|com defeito)|erro na fatura)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:nao vamos pagar|nao pagaremos|recusamo-nos a pagar)\b", negatable=False),
    phrase("dispute", MEDIUM, r"\bnota de credito\b"),
    phrase("dispute", STRONG, r"\b(?:tem|ha|contem|apresenta) (?:um|alguns|uns) (?:erro|erros)\b"),
    phrase("dispute", STRONG, r"\bnao (?:corresponde|correspondem|confere|conferem|bate|batem)\b|\bdiscrepancia\b",
           negatable=False),
    phrase("copy_request", STRONG, r"\bnao (?:recebemos|recebi|temos|encontramos)(?: \w+){0,2}? (?:a |nenhuma |esta |"
                                   r"sua )?fatura\b|\bfatura nao (?:foi )?recebida\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:copia|segunda via|pdf)(?: \w+){0,2}? (?:da|desta) fatura\b|\bsegunda via\b|"
                                   r"\b(?:reenviar|reenviem|enviar|enviem|mandar|mandem)(?: \w+){0,3}? (?:a fatura|"
                                   r"copia|uma copia)\b"),
    phrase("plan_request", STRONG, r"\b(?:parcelamento|parcelar|parcelas|prestacoes|plano de pagamento|acordo de "
                                   r"pagamento|prorrogacao|adiamento)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:mais prazo|mais tempo|dificuldades financeiras)\b"),
    phrase("wrong_contact", STRONG, r"\bnao (?:trabalha|trabalho) mais\b|\bja nao (?:trabalha|trabalho|faz parte)\b|"
                                    r"\bnao sou a pessoa (?:certa|correta|responsavel)\b|\b(?:pessoa|endereco|contato|"
                                    r"contacto|destinatario) (?:errad[oa]|incorret[oa])\b|\benviar (?:as )?faturas "
                                    r"para\b", negatable=False),
    phrase("unsubscribe", STRONG, r"\b(?:descadastrar|descadastre|cancelar (?:a )?inscricao|remover (?:meu e-?mail|da "
                                  r"lista)|parem de enviar|nao (?:me )?enviem mais)\b", negatable=False),
    phrase("out_of_office", STRONG, r"\b(?:fora do escritorio|ausente|de ferias|em ferias|de licenca|em viagem|acesso "
                                    r"limitado ao e-?mail)\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:estarei de volta|retorno (?:em|no dia|dia)|retornarei|regresso)\b"),
    phrase("bounce", STRONG, r"\b(?:falha na entrega|nao foi possivel entregar|destinatario desconhecido)\b"),
    phrase("question", MEDIUM, r"\b(?:o que|qual|quais|por que|porque|como|quando|onde|quem|poderiam|podem|pode)\b"
                               r"[^.!?\n]{0,120}\?"),
    phrase("question", MEDIUM, r"\b(?:dados bancarios|uma pergunta|uma duvida)\b"),
)

SUBJECT_CUES = (
    phrase("out_of_office", STRONG, r"\b(?:fora do escritorio|ausencia|ausente|ferias)\b"),
    phrase("out_of_office", MEDIUM, r"^(?:resposta automatica)"),
    phrase("bounce", STRONG, r"^(?:nao entregue|nao (?:foi|e) possivel entregar|falha na entrega)"),
    phrase("unsubscribe", STRONG, r"^(?:descadastrar|cancelar inscricao)\W*$"),
)

PORTUGUESE = Language(
    code="pt",
    cues=CUES,
    subject_cues=SUBJECT_CUES,
    stopwords=frozenset("o a os as e que de do da para com uma fatura nao pagamento obrigado obrigada "
                        "atenciosamente ja foi nos voces".split()),
    negations=("nao", "nunca", "nenhum", "nenhuma", "sem", "ainda nao"),
    clause_breaks=("mas", "porem", "contudo", "embora"),
    hypothetical=("ate que", "quando", "se", "assim que", "antes que", "depois que"),
    conditions=(r"\b(?:quando|assim que|logo que|depois que|se|apos)\b(?: [\w'-]+){0,6}? (?:voces|voce|recebermos|"
                r"corrigirem|enviarem)\b",),
    remainder=(r"\b(?:o restante|o resto|o saldo|a diferenca|a outra metade)\b",),
    months={"janeiro": 1, "fevereiro": 2, "fev": 2, "marco": 3, "abril": 4, "maio": 5, "junho": 6, "julho": 7,
            "agosto": 8, "setembro": 9, "outubro": 10, "novembro": 11, "dezembro": 12},
    weekdays={"segunda-feira": 0, "terca-feira": 1, "quarta-feira": 2, "quinta-feira": 3, "sexta-feira": 4,
              "sabado": 5, "domingo": 6, "terca": 1, "quarta": 2, "quinta": 3, "sexta": 4},
    numbers={"um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7,
             "oito": 8, "nove": 9, "dez": 10, "quinze": 15, "trinta": 30},
    day_words={"hoje": 0, "hoje mesmo": 0, "esta manha": 0, "esta tarde": 0, "amanha": 1, "depois de amanha": 2,
               "ontem": -1, "anteontem": -2},
    next_words=("proxima", "proximo", "que vem"),
    last_words=("passada", "passado", "ultima", "ultimo"),
    this_words=("esta", "este", "nesta", "neste"),
    units={"dia": "day", "dias": "day", "dias uteis": "business_day", "semana": "week", "semanas": "week",
           "mes": "month",
           "meses": "month"},
    within=("em", "dentro de", "nos proximos", "nas proximas"),
    ago_before=("ha",),
    ago_after=("atras",),
    periods={"fim do mes": ("month_end", 0), "final do mes": ("month_end", 0), "fim deste mes": ("month_end", 0),
             "fim do proximo mes": ("month_end", 1), "final do mes que vem": ("month_end", 1),
             "fim do mes que vem": ("month_end", 1), "mes que vem": ("month", 1), "proximo mes": ("month", 1),
             "mes passado": ("vague", -1), "este mes": ("month", 0), "fim da semana": ("week_end", 0),
             "final da semana": ("week_end", 0), "fim desta semana": ("week_end", 0), "esta semana": ("week", 0),
             "fim da proxima semana": ("week_end", 1), "proxima semana": ("week", 1), "semana que vem": ("week", 1),
             "semana passada": ("vague", -1), "o quanto antes": ("vague", 1), "em breve": ("vague", 1),
             "nos proximos dias": ("vague", 1)},
    month_end_words=("fim de", "final de", "no fim de", "no final de"),
    month_mid_words=("meados de",),
    day_of_month=(r"\b(?:no )?dia (?P<day>\d{1,2})(?: (?:(?P<next>do proximo mes|do mes que vem)|(?P<this>deste "
                  r"mes)))?\b(?! ?(?:%|\d|[$€£]|de \d))",),
    until_words=("ate", "ate o dia", "ate dia", "ate ao dia"),
    through_words=("inclusive",),
    return_words=("volta", "retorno", "retornarei", "estarei de volta", "regresso", "regressarei"),
    range_words=("a", "-", "ate"),
    reference_words=("de", "datada", "emitida", "vencimento", "vencida", "vence"),
    wrote=("escreveu",),
    header_from=("de",),
    header_fields=("enviada", "enviado", "enviado em", "data", "para", "cc", "assunto"),
    separators=(r"-{2,}\s*mensagem original\s*-{2,}", r"mensagem original", r"mensagem encaminhada"),
    sign_offs=(r"atenciosamente", r"(?:com os )?(?:melhores )?cumprimentos", r"abracos?", r"att\.?"),
    mobile_signatures=(r"enviado do meu \w+", r"enviado de meu \w+", r"enviado a partir do \w+"),
    disclaimers=(r"(?:esta|a) (?:mensagem|e-?mail)\b.{0,120}(?:confidencial|destinada exclusivamente)",),
)
