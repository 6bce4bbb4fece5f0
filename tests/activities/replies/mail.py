"""How mail clients quote the reminder a customer answers: the corpus appends our reminder below a reply
the way Gmail, Outlook, Apple Mail and their localised versions do, so every reply carries the words
("payment", "overdue", "already paid", a due date) that must not decide its class."""

from __future__ import annotations

REMINDER_EN = """Dear Jane,

This is a friendly reminder that invoice INV-1042 for USD 1,250.00 was due on 20 February 2026 and is now
13 days overdue. Please arrange payment at your earliest convenience. If you have already paid, please
disregard this message; if anything is wrong with the invoice, just reply to this email.

Kind regards,
Acme Ltd - Accounts Receivable"""

REMINDER_DE = """Sehr geehrte Damen und Herren,

die Rechnung INV-1042 über 1.250,00 EUR war am 20.02.2026 fällig und ist seit 13 Tagen überfällig.
Bitte überweisen Sie den offenen Betrag umgehend. Sollten Sie bereits bezahlt haben, betrachten Sie
diese Nachricht als gegenstandslos.

Mit freundlichen Grüßen
Acme GmbH - Buchhaltung"""

REMINDER_FR = """Bonjour,

Sauf erreur de notre part, la facture INV-1042 de 1 250,00 EUR, échue le 20/02/2026, reste impayée.
Merci de procéder au règlement dans les meilleurs délais. Si vous avez déjà payé, veuillez ignorer ce
message.

Cordialement,
Acme SAS - Comptabilité clients"""

REMINDER_ES = """Estimado cliente:

Le recordamos que la factura INV-1042 por 1.250,00 EUR venció el 20/02/2026 y sigue pendiente de pago.
Le rogamos que realice el pago lo antes posible. Si ya ha pagado, ignore este mensaje.

Saludos cordiales,
Acme SL - Cobros"""

REMINDER_NL = """Beste klant,

Volgens onze administratie is factuur INV-1042 van EUR 1.250,00, vervallen op 20-02-2026, nog niet
betaald. Wij verzoeken u het bedrag zo snel mogelijk over te maken. Heeft u al betaald, dan kunt u dit
bericht als niet verzonden beschouwen.

Met vriendelijke groet,
Acme BV - Debiteurenbeheer"""

REMINDER_IT = """Gentile cliente,

la fattura INV-1042 di EUR 1.250,00, scaduta il 20/02/2026, risulta ancora non pagata. La preghiamo di
provvedere al pagamento al più presto. Se ha già pagato, non tenga conto di questo messaggio.

Cordiali saluti,
Acme Srl - Amministrazione"""

REMINDER_PT = """Prezado cliente,

A fatura INV-1042 no valor de EUR 1.250,00, vencida em 20/02/2026, ainda consta em aberto. Solicitamos
que efetue o pagamento o quanto antes. Caso já tenha pago, desconsidere esta mensagem.

Atenciosamente,
Acme Lda - Contas a receber"""


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def gmail(reply: str, reminder: str = REMINDER_EN) -> str:
    return f"{reply}\n\nOn Tue, Mar 3, 2026 at 9:02 AM Acme Accounts Receivable <ar@acme.example>\nwrote:\n\n" \
           f"{_quoted(reminder)}\n"


def outlook(reply: str, reminder: str = REMINDER_EN) -> str:
    return (f"{reply}\n\n________________________________\nFrom: Acme Accounts Receivable <ar@acme.example>\n"
            f"Sent: Tuesday, March 3, 2026 9:02 AM\nTo: Jane Doe <jane@globex.example>\n"
            f"Subject: Payment reminder: invoice INV-1042 is overdue\n\n{reminder}\n")


def original_message(reply: str, reminder: str = REMINDER_EN) -> str:
    return (f"{reply}\n\n-----Original Message-----\nFrom: ar@acme.example [mailto:ar@acme.example]\n"
            f"Sent: 03 March 2026 09:02\nTo: jane@globex.example\nSubject: Payment reminder: invoice INV-1042\n\n"
            f"{reminder}\n")


def apple(reply: str, reminder: str = REMINDER_EN) -> str:
    return f"{reply}\n\nSent from my iPhone\n\n> On 3 Mar 2026, at 09:02, Acme AR <ar@acme.example> wrote:\n>\n" \
           f"{_quoted(reminder)}\n"


def outlook_de(reply: str) -> str:
    return (f"{reply}\n\nVon: Acme Buchhaltung <ar@acme.example>\nGesendet: Dienstag, 3. März 2026 09:02\n"
            f"An: Hans Müller <h.mueller@globex.example>\nBetreff: Zahlungserinnerung: Rechnung INV-1042\n\n"
            f"{REMINDER_DE}\n")


def gmail_de(reply: str) -> str:
    return (f"{reply}\n\nAm Di., 3. März 2026 um 09:02 Uhr schrieb Acme Buchhaltung <ar@acme.example>:\n\n"
            f"{_quoted(REMINDER_DE)}\n")


def gmail_fr(reply: str) -> str:
    return f"{reply}\n\nLe mar. 3 mars 2026 à 09:02, Acme Comptabilité <ar@acme.example> a écrit :\n\n" \
           f"{_quoted(REMINDER_FR)}\n"


def outlook_fr(reply: str) -> str:
    return (f"{reply}\n\nDe : Acme Comptabilité <ar@acme.example>\nEnvoyé : mardi 3 mars 2026 09:02\n"
            f"À : Marie Dupont <m.dupont@globex.example>\nObjet : Relance : facture INV-1042\n\n{REMINDER_FR}\n")


def gmail_es(reply: str) -> str:
    return f"{reply}\n\nEl mar, 3 mar 2026 a las 9:02, Acme Cobros (<ar@acme.example>) escribió:\n\n" \
           f"{_quoted(REMINDER_ES)}\n"


def outlook_es(reply: str) -> str:
    return (f"{reply}\n\nDe: Acme Cobros <ar@acme.example>\nEnviado el: martes, 3 de marzo de 2026 9:02\n"
            f"Para: Lucía García <l.garcia@globex.example>\nAsunto: Recordatorio de pago: factura INV-1042\n\n"
            f"{REMINDER_ES}\n")


def gmail_nl(reply: str) -> str:
    return f"{reply}\n\nOp di 3 mrt 2026 om 09:02 schreef Acme Debiteuren <ar@acme.example>:\n\n" \
           f"{_quoted(REMINDER_NL)}\n"


def outlook_nl(reply: str) -> str:
    return (f"{reply}\n\nVan: Acme Debiteuren <ar@acme.example>\nVerzonden: dinsdag 3 maart 2026 09:02\n"
            f"Aan: Pieter de Vries <p.devries@globex.example>\nOnderwerp: Betalingsherinnering factuur INV-1042\n\n"
            f"{REMINDER_NL}\n")


def gmail_it(reply: str) -> str:
    return (f"{reply}\n\nIl giorno mar 3 mar 2026 alle ore 09:02 Acme Amministrazione <ar@acme.example> ha "
            f"scritto:\n\n{_quoted(REMINDER_IT)}\n")


def outlook_it(reply: str) -> str:
    return (f"{reply}\n\nDa: Acme Amministrazione <ar@acme.example>\nInviato: martedì 3 marzo 2026 09:02\n"
            f"A: Giulia Rossi <g.rossi@globex.example>\nOggetto: Sollecito di pagamento fattura INV-1042\n\n"
            f"{REMINDER_IT}\n")


def gmail_pt(reply: str) -> str:
    return (f"{reply}\n\nEm ter., 3 de mar. de 2026 às 09:02, Acme Contas <ar@acme.example> escreveu:\n\n"
            f"{_quoted(REMINDER_PT)}\n")


def outlook_pt(reply: str) -> str:
    return (f"{reply}\n\nDe: Acme Contas <ar@acme.example>\nEnviada: terça-feira, 3 de março de 2026 09:02\n"
            f"Para: João Silva <j.silva@globex.example>\nAssunto: Lembrete de pagamento: fatura INV-1042\n\n"
            f"{REMINDER_PT}\n")


def gmail_html(reply_html: str) -> str:
    quoted = REMINDER_EN.replace("\n\n", "</p><p>").replace("\n", " ")
    return (f'<div dir="ltr">{reply_html}</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
            f"On Tue, Mar 3, 2026 at 9:02 AM Acme AR &lt;ar@acme.example&gt; wrote:<br></div>"
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex"><p>{quoted}</p></blockquote></div>')


def outlook_html(reply_html: str) -> str:
    quoted = REMINDER_EN.replace("\n\n", "</p><p>").replace("\n", " ")
    return ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>p.MsoNormal'
            '{margin:0cm;font-size:11.0pt}</style></head><body lang="EN-GB"><div class="WordSection1">'
            f'<p class="MsoNormal">{reply_html}</p></div><div id="appendonsend"></div><hr style="display:inline-block">'
            '<div id="divRplyFwdMsg"><b>From:</b> Acme AR &lt;ar@acme.example&gt;<br><b>Sent:</b> Tuesday, March 3, '
            '2026 9:02 AM<br><b>To:</b> Jane Doe<br><b>Subject:</b> Payment reminder: invoice INV-1042</div>'
            f"<div><p>{quoted}</p></div></body></html>")
