"""English: how customers, their colleagues and mail servers answer a payment reminder in English.

The bounce phrases of the common mail servers (Exchange, Postfix, Exim, Gmail, Sendmail) live here too:
servers write English whatever the customer's language, and the SMTP status codes are language-neutral.
"""

from __future__ import annotations

from activities.replies.phrases.vocabulary import MEDIUM, STRONG, WEAK, Language, phrase

WE = (r"(?:we|i|they|he|she|our (?:company|team|office|accounting|accounts(?: payable)?(?: team| department)?|"
      r"ap(?: team| department)?|finance(?: team| department)?|bank|treasury|payments? team)|"
      r"my (?:colleague|team|boss|accountant|manager)|accounts(?: payable)?|finance)")
HAVE = r"(?:'ve|'d| have| has| had)?"
ADVERB = (r"(?: (?:already|just|actually|now|finally|also|indeed|definitely|recently|successfully|since|today|"
          r"yesterday|previously|then|both|all|duly))*")
MONEY = (r"(?:payment|payments|transfer|transfers|wire|funds|money|check|cheque|cheques|checks|remittance|ach|bacs|"
         r"sepa|eft|bank transfer|amount|balance|sum|total)")
# "payment reminder was sent" is not a payment: the nouns that make "payment" something else.
NOT_MONEY = (r"(?! (?:reminders?|requests?|notices?|terms|details|dates?|info|information|links?|plans?|schedules?|"
             r"instructions|portal|method|reference|letters?|emails?|demands?))")
PAID_VERB = (r"(?:paid|sent|made|processed|transferred|released|initiated|wired|remitted|issued|mailed|posted|"
             r"executed|completed|submitted|dispatched|cleared|settled|credited|debited|actioned|effected|done)")
FUTURE_VERB = (r"(?:paid|settled|made|sent|processed|transferred|released|initiated|wired|remitted|issued|executed|"
               r"cleared|actioned|mailed|posted|go out|going out|reach you|arrive|be with you|be in your account|"
               r"hit your account|land in your account|be credited|be received|follow)")
MONTH_NAMES = (r"(?:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|"
               r"mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)")
DAY_NAMES = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
DATE_AHEAD = rf"(?:the \d|\d|next|end|{DAY_NAMES}|tomorrow|{MONTH_NAMES}\b)"

CUES = (
    # --- paid ---
    phrase("paid", STRONG, rf"\b{WE}{HAVE}{ADVERB} (?:paid|settled|wired|remitted|transferred)\b"),
    phrase("paid", STRONG, rf"\b{WE}{HAVE}{ADVERB} (?:sent|made|initiated|processed|released|issued|mailed|posted|"
                           rf"executed|submitted|completed|put through|pushed through)(?: (?:a|an|the|our|your|this|"
                           rf"that|full|its|their|my))?(?: [\w#/-]+){{0,2}} {MONEY}\b"),
    phrase("paid", STRONG, rf"\b{MONEY}{NOT_MONEY}(?: [\w#/.-]+){{0,5}}? (?:has|have|was|were|got|'s)(?: (?:already|"
                           rf"just|now|finally|successfully|also))?(?: been)?(?: (?:already|just|now|finally|"
                           rf"successfully|also))? {PAID_VERB}\b"),
    phrase("paid", STRONG, r"\b(?:invoice|invoices|bill|bills|it|this|that|balance|amount|account|everything|all|both|"
                           r"these|they|inv[\w#/-]*|#[\w/-]+)(?: [\w#/.-]+){0,5}? (?:has|have|was|were|is|are|'s)"
                           r"(?: (?:already|just|now|fully|also|all))?(?: been)?(?: (?:already|just|now|fully|also|"
                           r"all))? (?:paid|settled|cleared|taken care of)\b"),
    phrase("paid", STRONG, r"\balready (?:been )?(?:paid|settled|sent (?:the |a |you )?(?:payment|money|funds"
                           r"|transfer))\b"),
    phrase("paid", STRONG, r"\bpaid (?:in full|off)\b|\balready (?:been )?taken care of\b"),
    phrase("paid", MEDIUM, r"\b(?:already|all) (?:been )?(?:handled|sorted|done|settled up)\b"),
    phrase("paid", STRONG, r"\b(?:proof|confirmation|evidence|receipt) of (?:the )?(?:payment|transfer|remittance)\b"),
    phrase("paid", STRONG, r"\bremittance(?: advice| details| slip| confirmation)?(?: is| are)? (?:attached|enclosed|"
                           r"below)\b"),
    phrase("paid", STRONG, r"\b(?:attached|enclosed|please find)(?: (?:is|are|the|our|a|copy of|herewith|attached))*"
                           r" (?:remittance|payment confirmation|transfer confirmation|bank confirmation|swift|"
                           r"proof of payment|payment advice)\b"),
    phrase("paid", STRONG, r"\b(?:check|cheque|payment) (?:is|was|went|has gone)(?: already)? (?:in|into) the "
                           r"(?:mail|post)\b"),
    phrase("paid", STRONG, r"\b(?:payment|transfer|money|check|cheque|funds) (?:is|'s|are) (?:already )?on (?:its|"
                           r"their|the) way\b"),
    phrase("paid", STRONG, r"\b(?:payment|transfer|it|money|funds|wire) went out\b"),
    phrase("paid", STRONG, r"\b(?:left|debited from|went out of|gone out of|came out of) (?:our|my) (?:account"
                           r"|bank)\b"),
    phrase("paid", STRONG, r"\b(?:payment|transfer|wire) (?:done|made|sent|completed|executed|effected)\b"),
    phrase("paid", STRONG, rf"\byou should (?:have|already have|now have|by now have) (?:received|got|gotten|seen)"
                           rf"(?: (?:the|our|my|a))?(?: \w+)? {MONEY}\b"),
    phrase("paid", STRONG, r"\bshould (?:already |by now |now )?have (?:reached|hit|landed in|arrived in|cleared "
                           r"(?:in|into)|been credited to) your (?:account|bank)\b"),
    phrase("paid", MEDIUM, rf"\b(?:did|have|has|haven't|didn't|hasn't) (?:you|your (?:team|accounts team|finance team|"
                           rf"bank)) (?:not )?(?:receive|received|get|got|see|seen|find|found)(?: (?:the|our|my|a|"
                           rf"any))?(?: \w+)? {MONEY}\b", negatable=False),
    phrase("paid", MEDIUM, rf"\b(?:confirm|check|let us know)(?: (?:if|whether|that))? (?:you|your team) (?:have )?"
                           rf"(?:received|got) (?:the|our|my)(?: \w+)? {MONEY}\b"),
    phrase("paid", MEDIUM, r"\b(?:paid|settled|transferred|sent)(?: (?:only|just))? (?:half|part|a part|part of|"
                           r"a portion|some|the first (?:half|part|instal?lment)|\d+ ?%|a deposit)\b", role="partial"),
    phrase("paid", STRONG, r"\b(?:partial|part) payment (?:was |has been )?(?:made|sent|paid)\b|\bmade a (?:partial|"
                           r"part) payment\b", role="partial"),
    phrase("paid", WEAK, r"(?<![\w-])(?<!be )(?<!to )(?<!get )paid\b"),
    phrase("paid", STRONG, r"(?:^|[.!?] )(?:(?:already|all|fully) )?paid (?:on|yesterday|today|last|this|in full|via|"
                           r"by (?:bank|wire|bacs|ach|card|check|cheque|transfer)|with|it|the|already|off|\d)\b"),
    phrase("paid", MEDIUM, r"^\W*(?:already |all )?paid\W*$"),
    # --- promise ---
    phrase("promise", STRONG, rf"\b{WE}(?:'ll| will| shall|'re going to| are going to| am going to|'m going to| plan "
                              rf"to| intend to| are planning to| will be able to| should be able to|'ll be able to)"
                              rf"(?: (?:definitely|certainly|then|now|also|be|try to|make sure to|aim to|hopefully|"
                              rf"only|gladly|happily|promptly|immediately))*(?: \w+)?? (?:pay|settle|remit|wire|"
                              rf"transfer|clear|make (?:the |a |full |final )?payment|send (?:the |a |you |over |our )*"
                              rf"(?:payment|money|funds|transfer|wire|check|cheque)|process (?:the |your |this )?"
                              rf"(?:payment|invoice|transfer)|release (?:the )?(?:payment|funds)|get (?:this|it|the "
                              rf"invoice|you) paid|initiate (?:the |a )?(?:payment|transfer)|arrange (?:the |a )?"
                              rf"(?:payment|transfer)|issue (?:the |a )?(?:payment|check|cheque))\b"),
    phrase("promise", MEDIUM, r"\b(?:will|shall|'ll) (?:pay|settle|remit|transfer|process (?:the |your )?(?:payment|"
                              r"invoice))\b"),
    phrase("promise", STRONG, r"\b(?:and|then|but|so) (?:will|'ll|shall) (?:pay|settle|transfer|send|remit) (?:the |"
                              r"you |it|this|that|on|by|next|tomorrow|today|before|within|in)"),
    phrase("promise", STRONG, rf"\b(?:{MONEY}|it|this|invoice|invoices|remainder|rest|remaining|bill){NOT_MONEY}"
                              rf"(?: [\w#/.,$€£-]+){{0,5}}? (?:will|shall|'ll|is going to|are going to|is set to"
                              rf"|is due to)"
                              rf"(?: (?:definitely|certainly|then|now|also|only))? (?:be )?{FUTURE_VERB}\b"),
    phrase("promise", MEDIUM, rf"\b(?:{MONEY}|it|this|invoice|invoices|remainder|rest){NOT_MONEY}"
                              rf"(?: [\w#/.-]+){{0,5}}? (?:should|ought to|is expected to|are expected to|is likely to)"
                              rf"(?: (?:then|now|also))? (?:be )?{FUTURE_VERB}\b"),
    phrase("promise", STRONG, rf"\b(?:{MONEY}|it|this|invoice|invoices){NOT_MONEY}(?: [\w#/.-]+){{0,5}}? (?:is|has "
                              rf"been|was|are|have been|'s)(?: (?:now|already|also))? (?:scheduled|planned|booked|"
                              rf"queued|set up|arranged|approved|lined up|earmarked|slated|authori[sz]ed|in (?:the|our|"
                              rf"this week's|next week's) (?:next )?(?:payment|pay|check|cheque|bacs|ach) (?:run|batch|"
                              rf"cycle))\b"),
    phrase("promise", STRONG, rf"\b{WE}{HAVE}(?: (?:now|already|just))? (?:scheduled|planned|booked|queued|set up|"
                              rf"arranged|approved|authori[sz]ed)(?: (?:the|a|your|this|that|our))?(?: [\w#/-]+){{0,2}}"
                              rf" (?:payment|transfer|wire|invoice|check|cheque)\b{NOT_MONEY}(?! arrangement)"),
    phrase("promise", MEDIUM, r"\b(?:next|upcoming|this week's|next week's|our|the) (?:payment|pay|check|cheque|bacs|"
                              r"ach) (?:run|batch|cycle)\b"),
    phrase("promise", STRONG, r"\b(?:we're|we are|i'm|i am) (?:paying|settling) (?:it|this|the|your|that|on|by|next|"
                              r"this|tomorrow|today)\b"),
    phrase("promise", MEDIUM, r"\b(?:we're|we are|i'm|i am|is|are) (?:currently |now |still )?(?:processing|"
                              r"arranging|preparing|working on) (?:the |your |this |that |our )?(?:payment|invoice|"
                              r"transfer)\b"),
    phrase("promise", STRONG, r"\b(?:make sure|ensure|see to it)(?: that)? (?:it|this|the invoice|payment|the payment|"
                              r"this invoice|the balance)(?:'s| is| gets| get| will be| will get)(?: \w+){0,2}? "
                              r"(?:paid|settled|sent|processed)\b"),
    phrase("promise", STRONG, r"\bget (?:this|it|the invoice|that|you) (?:paid|settled)\b|\b(?:will|'ll"
                              r"|shall) have (?:it|"
                              r"this|that|the invoice|everything|the balance|(?:the )?payment|the money) (?:paid|"
                              r"settled|sent|sorted|processed|transferred|over to you|with you)\b"),
    phrase("promise", MEDIUM, r"\b(?:will|should|shall|'ll) be (?:paid|settled|sent|processed|transferred|wired"
                              r"|released|"
                              r"made|mailed) (?:by|on|before|next|this|tomorrow|today|within|in|at|no later|early|"
                              r"end)\b"),
    phrase("promise", MEDIUM, r"\b(?:payment|transfer|it|the money|the check|the cheque) is (?:now |currently )?(?:in "
                              r"process|in progress|being processed|being prepared|pending approval|pending"
                              r"|underway)\b"),
    phrase("promise", STRONG, r"\b(?:you'll|you will|you shall) (?:receive|get|see|have) (?:it|the payment|payment|our "
                              r"payment|the money|the funds|funds|the transfer|a check|a cheque|the check"
                              r"|the cheque)\b"),
    phrase("promise", MEDIUM, r"\b(?:you should|you'd|you ought to) (?:receive|get|see|have) (?:it|the payment|payment|"
                              r"our payment|the money|the funds|funds|the transfer|the check|the cheque) (?:by|on|"
                              r"before|next|this|tomorrow|today|within|in|early|end)\b"),
    phrase("promise", STRONG, r"(?:^|[.!?] )(?:paying|settling|transferring) (?:it |this |the invoice |the balance )?"
                              r"(?:today|tomorrow|tonight|on|by|next|this|later|first thing)\b"),
    phrase("promise", MEDIUM, r"\b(?:can|could) (?:pay|settle|transfer|send (?:the )?payment)(?: (?:it|this|the "
                              r"invoice|you|the balance|the rest))? (?:on|by|next|this|tomorrow|today|before|at the "
                              r"end|in|within)\b"),
    phrase("promise", MEDIUM, r"\b(?:expect|expecting|hope|hoping|aim|aiming|plan|planning|intend|intending|try|"
                              r"trying) to (?:pay|settle|remit|wire|transfer|clear|make (?:the |a )?payment|(?:release|"
                              r"send|process|issue|initiate) (?:the |a |our )?(?:payment|funds|money|transfer|check|"
                              r"cheque))\b"),
    phrase("promise", MEDIUM, rf"\bexpect(?:ing)? (?:the |our |your |a )?{MONEY}(?: \w+){{0,3}}? (?:by|on|within|in|"
                              rf"next|this|to (?:reach|arrive|clear|land|hit|be))\b"),
    phrase("promise", MEDIUM, r"\b(?:payment|pay|check|cheque|bacs|ach|supplier) (?:run|batch|cycle)\b"),
    phrase("promise", MEDIUM, r"\b(?:can(?:no|')?t|cannot|can not|unable to|won't be able to|will not be able to|"
                              r"not able to|won't|will not) (?:pay|settle|make (?:the )?payment|release (?:the )?"
                              r"payment)(?: (?:it|this|the invoice|you|the balance|that))? (?:before|until|till|prior "
                              r"to|earlier than)\b", negatable=False),
    phrase("promise", STRONG, r"\bpayment date (?:is|will be|of)\b|\bdue to be paid\b|\b(?:you'll|you will|you should|"
                              r"you shall) (?:get|be) paid\b"),
    phrase("promise", MEDIUM, rf"\bpay(?:ment)? (?:by|on|before|no later than) {DATE_AHEAD}"),
    # --- dispute ---
    phrase("dispute", STRONG, r"\b(?:amount|amounts|price|prices|rate|rates|total|figure|figures|quantity|quantities|"
                              r"hours|charge|charges|invoice|tax|vat|discount|fee|fees|line|item|unit price|calculation"
                              r"|"
                              r"sum|billing|bill|pricing)(?: [\w#/.-]+){0,4}? (?:is|are|was|were|seems|seem|looks|look|"
                              r"appears|appear|'s)(?: (?:still|clearly|definitely|completely|also|just))? (?:wrong|"
                              r"incorrect|not correct|too high|inflated|inaccurate|overstated|off|not right|erroneous|"
                              r"mistaken|in error|not what we agreed|higher than|more than (?:we|what|agreed"
                              r"|quoted))\b",
           negatable=False),
    phrase("dispute", STRONG, r"\bwrong (?:amount|price|rate|total|quantity|invoice amount|charges?|hours|tax|vat|"
                              r"figure|items?|goods|order|po|product|number of|pricing|billing|discount|currency)\b"),
    phrase("dispute", STRONG, r"\b(?:incorrect|inaccurate|erroneous|inflated) (?:amount|price|rate|total|quantity|"
                              r"invoice|charges?|hours|billing|tax|vat|figure|pricing)\b"),
    phrase("dispute", STRONG, r"\b(?:overcharged|over-?charged|over-?billed|over-?invoiced|double[- ]?(?:billed|"
                              r"charged|invoiced)|billed (?:us )?twice|charged (?:us )?twice|invoiced (?:us )?twice|"
                              r"duplicate (?:invoice|charge|billing))\b"),
    phrase("dispute", STRONG, rf"\b{WE}(?: (?:strongly|formally|hereby|must|have to|would like to|wish to|want to))*"
                              rf" (?:dispute|contest|reject|challenge|object to|do not accept|don't accept|cannot "
                              rf"accept|can't accept|won't accept|will not accept|don't agree|do not agree|disagree|"
                              rf"are disputing|are contesting|are querying|query)\b"),
    phrase("dispute", STRONG, r"\b(?:in dispute|under dispute|disputed|disputing|dispute (?:this|the|that|it|these|"
                              r"invoice|charge|amount))\b"),
    phrase("dispute", MEDIUM, r"\bdisputes?\b|\b(?:complaint|not satisfied|unsatisfied|dissatisfied|unhappy with)\b"),
    phrase("dispute", STRONG, r"\bnot what (?:we|i) (?:ordered|agreed|were quoted|signed|asked for|expected)\b",
           negatable=False),
    phrase("dispute", STRONG, r"\b(?:never|did not|didn't) (?:ordered|order|agreed|agree to|authori[sz]ed?|sign(?:ed)?"
                              r" (?:for|off))\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:never|did not|didn't|have not|haven't|not yet|still not|still haven't) (?:yet )?"
                              r"(?:received|got|get|receive)(?: \w+){0,2} (?:goods|items|order|delivery|shipment|"
                              r"product|products|service|services|parts|equipment|materials|work)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:goods|items|products?|delivery|shipment|order|parts|equipment|materials|work|"
                              r"service|services|software)(?: \w+){0,3}? (?:was|were|is|are|arrived|came)(?: \w+)? "
                              r"(?:damaged|faulty|defective|broken|missing|incomplete|not delivered|never delivered|"
                              r"not performed|not completed|unsatisfactory|substandard|not as described|not working)\b",
           negatable=False),
    phrase("dispute", MEDIUM, r"\bcredit (?:note|memo)\b"),
    phrase("dispute", STRONG, r"\b(?:waiting for|still waiting for|owe us|owed|promised|missing|issue|expecting) "
                              r"(?:us )?(?:a |the |your )?credit (?:note|memo)\b"),
    phrase("dispute", STRONG, rf"\b(?:we|i)(?: \w+)? (?:won't|will not|shall not|refuse to|are not going to|aren't "
                              rf"going to|am not going to|do not intend to|don't intend to|will never|are refusing to|"
                              rf"decline to) (?:pay|be paying|settle)(?! (?:it |this |the invoice |the balance )?"
                              rf"(?:until|before|till|prior to|earlier than) {DATE_AHEAD})\b",
           negatable=False),
    phrase("dispute", MEDIUM, r"\bwhy (?:is|are|was|were|did|have|has)(?: \w+){0,5} (?:charged|billed|invoiced|higher|"
                              r"so high|different|increased|more than)\b"),
    phrase("dispute", STRONG, r"\b(?:higher|more) than (?:quoted|agreed|the quote|our quote|your quote|the po|the "
                              r"purchase order|the contract|the estimate|estimated|what we agreed)\b"),
    phrase("dispute", MEDIUM, r"\bshould (?:only )?(?:have been|be|read)(?: only)? (?:[$€£]|usd |eur |gbp )?\d"),
    phrase("dispute", STRONG, r"\b(?:discount|rebate|credit)(?: \w+){0,3} (?:was|is|were|has|have)(?: been)? (?:not|"
                              r"never) (?:applied|deducted|included|given|taken into account)\b|\b(?:discount|rebate)"
                              r"(?: \w+){0,2} (?:is|was) missing\b", negatable=False),
    phrase("dispute", STRONG, r"\bcancel(?:l)?ed (?:the |our |this |that )?(?:order|contract|subscription|service|"
                              r"agreement|po|purchase order|booking)\b|\b(?:returned|sent back|shipped back) (?:the |"
                              r"all )?(?:goods|items|products?|order|parts|equipment)\b"),
    phrase("dispute", MEDIUM, r"\b(?:short[- ]paid|deducted|deduction)\b"),
    phrase("dispute", MEDIUM, r"\b(?:charged|billed|invoiced) (?:us |me )?for(?: [\w#/.,$€£-]+){1,6}? but (?:we |i )?"
                              r"(?:only|never|didn't|did not|don't|do not|haven't|have not)\b|\bonly (?:use|used|"
                              r"received|ordered|need|needed|got|requested|bought|signed up for) (?:\d+|one|two|three|"
                              r"four|five|half)\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:have|has|there is|there's|raise|raised|found|spotted|noticed) (?:an?|some|a few) "
                              r"(?:issues?|problems?|quer(?:y|ies)|concerns?|errors?|mistakes?) (?:with|in|on"
                              r"|regarding) "
                              r"(?:this|the|your|that) (?:invoice|bill|charges?|amount|pricing|billing|statement)\b"
                              r"|\bis "
                              r"not (?:the|what) (?:we )?(?:agreed|contracted|quoted|contract|agreed upon)\b",
           negatable=False),
    phrase("dispute", STRONG, r"\b(?:is|are|been|was|were|put|placed|being held|remains?) on hold\b|\bblocked for "
                              r"payment\b"),
    phrase("dispute", MEDIUM, r"\b(?:didn't|did not|doesn't|does not|don't|do not) (?:have|show|include|quote|state|"
                              r"mention|carry|reference) (?:our|the|a|any|a valid|the correct) (?:po|purchase order|"
                              r"order number|reference|vat number|tax id|cost cent(?:er|re))\b", negatable=False),
    phrase("dispute", STRONG, r"\b(?:do not|don't|does not|doesn't|did not|didn't) (?:match|agree with|correspond(?: to"
                              r"| "
                              r"with)?|reflect|tally with|add up)\b|\b(?:discrepanc(?:y|ies)|mismatch(?:es|ed)?)\b",
           negatable=False),
    phrase("dispute", STRONG, r"\b(?:was|were|has been|have been|had been) (?:never|not) (?:done|carried out|performed|"
                              r"completed|delivered|provided|installed|fitted|supplied|rendered|received|finished)\b",
           negatable=False),
    # --- copy request ---
    phrase("copy_request", STRONG, r"\b(?:send|resend|re-send|forward|email|e-mail|share|provide|give)(?: (?:me|us|it|"
                                   r"over|through))*(?: (?:again|once more))?(?: (?:a|another|the|an|your))? (?:copy|"
                                   r"copies|pdf|duplicate|scan)\b"),
    phrase("copy_request", STRONG, r"\b(?:copy|copies|pdf|duplicate|scan|version) of (?:the|this|that|your|our|an|all|"
                                   r"these|those|each|invoice)\b"),
    phrase("copy_request", STRONG, r"\b(?:(?:have|has|had) (?:not|never)|haven't|hasn't|hadn't|did not|didn't|never|"
                                   r"not|still not|still haven't) (?:yet )?(?:received|receive|got|gotten|get|seen|see|"
                                   r"had|found)(?: (?:a|the|this|that|your|an|any|said|this|an actual))?(?: \w+)? "
                                   r"(?:invoice|invoices|bill|statement|attachment|pdf)\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:invoice|bill|attachment|pdf)(?: [\w#/-]+){0,3}? (?:was|were|has|have|is)"
                                   r"(?: not| never)(?: been)? (?:received|attached|included|sent|delivered)\b"
                                   r"|\b(?:invoice"
                                   r"|attachment|pdf|file)(?: \w+){0,3}? (?:is|was|seems) (?:missing|blank|empty|"
                                   r"corrupt(?:ed)?|illegible|unreadable|not attached)\b", negatable=False),
    phrase("copy_request", STRONG, r"\b(?:can(?:no|')?t|cannot|unable to|could not|couldn't) (?:find|locate|open|"
                                   r"download|access|see|view|read)(?: \w+){0,2} (?:invoice|attachment|pdf|file|link|"
                                   r"document)\b|\bno (?:invoice|attachment|pdf) (?:was |is )?(?:attached|included)\b",
           negatable=False),
    phrase("copy_request", MEDIUM, r"\b(?:send|resend|re-send|forward|email|e-mail|attach|include)(?: (?:me|us|over|"
                                   r"across|through|again))*(?: (?:the|this|that|a|an|our|your))? (?:invoice|invoices|"
                                   r"bill|statement of account|statement|"
                                   r"account statement)\b(?! to (?:[\w.+-]+@|our |the |my |accounts))"),
    phrase("copy_request", MEDIUM, r"\bneed(?: \w+){0,2} (?:copy|pdf|a proper invoice|a vat invoice|a tax invoice|"
                                   r"the original invoice)\b"),
    # --- plan request ---
    phrase("plan_request", STRONG, r"\b(?:payment|repayment|instal?lment) (?:plan|arrangement|schedule|agreement)\b|"
                                   r"\binstal?lments?\b"),
    phrase("plan_request", STRONG, r"\bpay(?: \w+){0,3} in (?:\w+ )?(?:parts|instal?lments|stages|tranches|chunks|"
                                   r"portions)\b|\bsplit(?: \w+){0,3} (?:payment|payments|invoice|amount|balance|bill"
                                   r"|it)"
                                   r"\b"),
    phrase("plan_request", MEDIUM, r"\b(?:more|extra|additional|some more) time(?: to pay)?\b"),
    phrase("plan_request", STRONG, r"\b(?:extension|extend)(?: \w+){0,3} (?:due date|deadline|payment terms|terms|"
                                   r"time)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:defer|postpone|delay)(?: \w+){0,2} (?:payment|the invoice|it)\b|\bextension\b"
                                   r"|"
                                   r"\b(?:push|move|put off|push back|hold off)(?: \w+){0,2}? (?:payment|the due date|"
                                   r"due date|the deadline|the invoice|paying)(?: back)? (?:to|until|till|by|back"
                                   r"|for)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:can(?:no|')?t|cannot|can not|unable to|not able to|won't be able to|will "
                                   r"not be able to|struggling to|struggle to) (?:pay|afford|settle)(?! (?:it |this "
                                   r"|the "
                                   r"invoice |you |the balance )?(?:before|until|till|prior to|earlier than)\b)",
           negatable=False),
    phrase("plan_request", MEDIUM, r"\bcash ?flow (?:problems?|issues?|difficult(?:y|ies)|constraints?|is tight)\b|"
                                   r"\bfinancial (?:difficult(?:y|ies)|hardship|problems?|trouble)\b"),
    phrase("plan_request", STRONG, r"\b(?:monthly|weekly|quarterly) (?:payments|instal?lments|amounts)\b|\b(?:spread"
                                   r"|pay)"
                                   r"(?: \w+){0,3} over (?:\w+ ){0,3}(?:months|weeks)\b"),
    phrase("plan_request", STRONG, r"\b(?:could|can|may|would it be possible for) (?:we|i|us) (?:to )?(?:pay|settle)"
                                   r"(?: \w+){0,3} (?:half|part|a portion|some|\d+ ?%|in)\b"),
    phrase("plan_request", STRONG, r"\b(?:pay(?:ments?)?|instal?lments?|amounts?) of (?:[$€£]|usd |eur |gbp )?[\d,.]+k?"
                                   r"(?: \w+)? (?:per|a|each|every) (?:month|week|fortnight)\b"),
    phrase("plan_request", MEDIUM, r"\b(?:another|an extra|an additional|a further|additional|extra|a few more"
                                   r"|a couple "
                                   r"more) (?:\d+|few|couple of|two|three|four|six) ?(?:days|weeks|months)\b|\b(?:give|"
                                   r"grant|allow) us (?:more time|until|a bit longer|a little longer|some time)\b"),
    phrase("plan_request", MEDIUM, r"\bpartial payments\b|\bpay (?:half|part|a portion|some of it)(?: \w+){0,2} (?:now"
                                   r"|first|this month)\b"),
    # --- wrong contact ---
    phrase("wrong_contact", STRONG, r"\bno longer (?:with|at|works?|working|employed|part of|responsible|handl\w+|"
                                    r"deal\w* with|in charge|the (?:right|correct) (?:person|contact))\b|\b(?:no "
                                    r"longer|not) (?:the|your) (?:contact|point of contact|person|billing contact"
                                    r"|right "
                                    r"contact|correct contact|main contact)\b", negatable=False),
    phrase("wrong_contact", STRONG, r"\b(?:has|have|had) left (?:the|our|this) (?:company|business|organi[sz]ation|"
                                    r"firm|team)\b|\b(?:i|she|he) left (?:the company|the business)\b"),
    phrase("wrong_contact", STRONG, r"\b(?:i am|i'm|she is|he is|this is|they are|we are) not (?:the )?(?:right|"
                                    r"correct|appropriate|responsible|relevant) (?:person|contact|recipient|department|"
                                    r"team|company)\b", negatable=False),
    phrase("wrong_contact", STRONG, r"\bwrong (?:person|contact|email|e-mail|address|recipient|department|company|"
                                    r"customer|addressee|contact person)\b"),
    phrase("wrong_contact", STRONG, r"\b(?:not|n't|no longer) (?:responsible|in charge) (?:for|of) (?:payments|"
                                    r"invoices|accounts|billing|this|paying)\b|\b(?:don't|do not|doesn't|does not) "
                                    r"(?:handle|deal with|process|look after) (?:payments|invoices|accounts|billing|"
                                    r"this)\b", negatable=False),
    phrase("wrong_contact", STRONG, r"\b(?:send|direct|address|forward|email|e-mail|submit|route)(?: (?:all|any|"
                                    r"future|your|all future))? (?:invoices|invoice|invoicing|billing|bills|statements|"
                                    r"correspondence|reminders|emails|these|this|it|them)(?: \w+){0,3}? to (?:[\w.+-]+@"
                                    r"|"
                                    r"our |the |my |accounts|billing|ap )"),
    phrase("wrong_contact", STRONG, r"\b(?:our|the) (?:accounts payable|ap|billing|finance|accounting|accounts)"
                                    r"(?: \w+){0,2} (?:email|e-mail|address|contact|mailbox) is\b"),
    phrase("wrong_contact", MEDIUM, r"\bnot (?:our|my) (?:invoice|company|account|customer|order)\b|\b(?:we are|"
                                    r"we're|i am|i'm) not (?:your|a) (?:customer|client)\b|\bnever (?:done|did) "
                                    r"business with\b", negatable=False),
    phrase("wrong_contact", MEDIUM, r"\bupdate your (?:records|contacts?|database|address book|system|mailing)\b"),
    phrase("wrong_contact", MEDIUM, r"\bwhy (?:am i|i'm|i am|are we|we're|we are|is this person) (?:getting|receiving|"
                                    r"being sent|copied on) (?:these|this|your)\b|\b(?:try|contact|email|e-mail|write "
                                    r"to|reach out to|ask|cc|copy in) [\w.+-]+@[\w-]+\.[\w.-]+", negatable=False),
    phrase("wrong_contact", STRONG, r"\b(?:moved|changed|transferred) (?:to|into) (?:a |an )?(?:different|new|another"
                                    r"|other) "
                                    r"(?:role|position|department|team|job|company)\b|\b(?:invoices|invoicing|bills|"
                                    r"billing|statements|reminders|correspondence)(?: \w+){0,2}? should (?:now |in "
                                    r"future |from now on )?(?:go|be sent|be addressed|be directed|be emailed) to\b"),
    phrase("wrong_contact", STRONG, r"\b(?:mailbox|email address|e-mail address|address|inbox|account)(?: \w+){0,2}? "
                                    r"(?:is|are) (?:no longer|not) (?:monitored|in use|active|checked|read|used)\b|"
                                    r"\bno longer (?:monitored|in use)\b", negatable=False),
    phrase("wrong_contact", MEDIUM, r"\b(?:please|kindly) (?:contact|email|e-mail|write to|reach out to|get in touch "
                                    r"with|send it to)(?: [\w.+-]+@[\w.-]+| (?:our|the) (?:accounts|ap|finance|"
                                    r"billing)| (?:my|our) colleague)"),
    phrase("wrong_contact", WEAK, r"\b(?:i|we)(?:'ve| have)? (?:forwarded|passed|sent|handed)(?: (?:this|your "
                                  r"(?:email|message|reminder|note|invoice|request)|it))? (?:on )?(?:to|over to) (?:our"
                                  r"|"
                                  r"the|my)\b", role="forwarded"),
    # --- unsubscribe ---
    phrase("unsubscribe", STRONG, r"\bunsubscribe\b|\bopt(?:[- ])?out\b|\btake me off\b|^\W*(?:stop|remove me)\W*$"),
    phrase("unsubscribe", STRONG, r"\bremove (?:me|us|my (?:email|address)|this (?:email|address))(?: \w+){0,2} from "
                                  r"(?:your|the|this|all)(?: \w+)? (?:list|lists|mailing|database|distribution|system|"
                                  r"emails)\b"),
    phrase("unsubscribe", STRONG, r"\b(?:do not|don't|never) (?:contact|email|e-mail|write to|message) (?:me|us)"
                                  r"(?: again)?\b", negatable=False),
    phrase("unsubscribe", MEDIUM, r"\bstop (?:sending|emailing|e-mailing|mailing|contacting|spamming|messaging|"
                                  r"harass\w*)\b|\bno (?:more|further) (?:emails|e-mails|messages|reminders|mails)\b"),
    # --- out of office ---
    phrase("out_of_office", STRONG, r"\bout of (?:the )?office\b|\baway from (?:the |my )?(?:office|desk|email|"
                                    r"e-mail)\b"),
    phrase("out_of_office", STRONG, r"\b(?:i am|i'm|i will be|i'll be|currently|will be|presently|i am currently)"
                                    r"(?: \w+)? on (?:annual |parental |maternity |paternity |sick |medical |study |"
                                    r"vacation |holiday |bereavement |extended )?(?:leave|vacation|holiday|holidays|pto"
                                    r"|"
                                    r"sabbatical|business travel|a business trip|a trip)\b"),
    phrase("out_of_office", STRONG, r"\b(?:office|offices|we) (?:is|are|will be) (?:closed|shut)\b|\blimited (?:access"
                                    r"|availability) to (?:email|e-mail|my email|emails)\b|\b(?:currently|presently) "
                                    r"(?:away|out|absent|unavailable|travell?ing)\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:i will|i'll|will) (?:be )?(?:back|returning)(?: in the office| to the "
                                    r"office| at work)? (?:on|from|after|tomorrow|monday|tuesday|wednesday|thursday|"
                                    r"friday|next)\b|\breturning (?:to the office |to work )?on\b"
                                    r"|\bback in the office\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:annual leave|on leave|out sick|parental leave|maternity leave|ooo)\b"),
    phrase("out_of_office", MEDIUM, r"\b(?:i am|i'm|i will be|i'll be) (?:currently |now )?(?:away|out|off|absent|"
                                    r"unavailable|travell?ing)(?: (?:until|till|from|between|on|this|next|today|"
                                    r"tomorrow)\b|\W*$|[.,;])"),
    # --- bounces (servers write English; status codes are universal) ---
    phrase("bounce", STRONG, r"\b(?:delivery has failed|delivery to the following recipients? (?:failed|has failed)|"
                             r"mail delivery failed|could not be delivered|couldn't be delivered|wasn't delivered to|"
                             r"was not delivered to|message not delivered|permanent (?:error|failure|fatal error)|"
                             r"address (?:not found|rejected|couldn't be found|could not be found)|user unknown"
                             r"|unknown "
                             r"user|no such (?:user|recipient|mailbox)|mailbox (?:unavailable|not found|does not exist|"
                             r"is full|full|disabled|inactive)|recipient (?:address )?rejected|returned to sender|"
                             r"undelivered mail|undeliverable|account that you tried to reach (?:does not exist|is "
                             r"disabled)|your message couldn't be delivered|rejected your message|message was rejected"
                             r"|unrouteable address|host or domain name not found)\b"),
    phrase("bounce", STRONG, r"(?<![\w.])(?:5[0-9]{2}[ -])?5\.[0-7]\.[0-9]{1,3}(?![\w.])|\b55[0-4][ -](?:5\.|"
                             r"requested|mailbox|user|no such|recipient|sorry)"),
    phrase("bounce", STRONG, r"\b(?:address|account|mailbox|user|recipient"
                             r"|email address)(?: \w+){0,4} does not exist\b",
           negatable=False),
    phrase("other", STRONG, r"\b(?:has not yet been delivered|not been delivered yet|will (?:continue to )?(?:retry"
                            r"|try "
                            r"again)|delivery (?:is |has been )?delayed|delayed delivery|temporary (?:failure|error|"
                            r"problem))\b|(?<![\w.])4\.[0-7]\.[0-9]{1,3}(?![\w.])", role="delay", negatable=False),
    # --- question ---
    phrase("question", STRONG, r"\bhow (?:can|do|should|could|would) (?:i|we) (?:pay|make (?:the |a )?payment|settle)"
                               r"\b|\bi have a question\b|\bquick question\b"),
    phrase("question", MEDIUM, r"\b(?:what|which|why|how|when|where|who|whom)\b[^.!?\n]{0,120}\?"),
    phrase("question", MEDIUM, r"(?:^|[.!?,;:] )(?:does|do|is|are|can|could|did|has|have|will|would|should|may)\b"
                               r"[^.!?\n]{3,120}\?"),
    phrase("question", MEDIUM, r"\b(?:can|could|would|will) you (?:please |kindly )?(?:tell|confirm|let (?:me|us) know|"
                               r"explain|clarify|advise|check|provide|send (?:me|us) (?:the )?(?:bank|payment|banking)"
                               r" details)\b|\bplease (?:confirm|advise|clarify|explain)\b"),
    phrase("question", MEDIUM, r"\b(?:bank|banking|payment|wire|remittance) (?:details|information|info|instructions)"
                               r"\b|\b(?:iban|swift|bic|routing number|sort code|account number|bank account|po number"
                               r"|purchase order number)\b"),
    phrase("question", WEAK, r"\?", negatable=False),
    # --- other: automatic acknowledgements and thank-yous ---
    phrase("other", MEDIUM, r"\b(?:we|i) (?:have|'ve) received your (?:email|e-mail|message|request|enquiry|inquiry)\b|"
                            r"\bthis is an automated (?:response|reply|message|acknowledg(?:e)?ment)\b|\b(?:ticket|"
                            r"case|request) (?:number|#|id)\b|\bwe will (?:respond|reply|get back to you) (?:within|"
                            r"as soon as possible|shortly)\b|\bdo not reply to this (?:email|message)\b",
           negatable=False),
    phrase("other", 0.6, r"^(?:(?:hi|hello|dear)(?: \w+)?\W* )?(?:ok|okay|thanks|thank you|thx|ty|noted|received|"
                         r"got it|understood|cheers|will check|will look into (?:it|this)|looking into (?:it|this)|"
                         r"let me check|we will look into (?:it|this)|i will check)(?:\W+(?:thanks|thank you|many "
                         r"thanks|thank you very much|thanks a lot|cheers))?\W*$", negatable=False),
)

SUBJECT_CUES = (
    phrase("out_of_office", STRONG, r"\b(?:out of (?:the )?office|ooo|away from (?:the )?office|on vacation|on holiday|"
                                    r"on leave|annual leave|absence notice)\b"),
    phrase("out_of_office", WEAK, r"^(?:automatic reply|auto(?:matic)?[- ]?reply|autoreply|auto-response|auto "
                                  r"response|automatic response|auto:)"),
    phrase("bounce", STRONG, r"^(?:undeliverable|undelivered mail|delivery status notification \(failure\)|mail "
                             r"delivery failed|mail delivery failure|delivery failure|failure notice|returned mail|"
                             r"message not delivered|delivery has failed|mail delivery subsystem|non-delivery|non "
                             r"delivery|could not deliver|address not found"
                             r"|delivery notification: delivery has failed)"),
    phrase("other", STRONG, r"^(?:delivery status notification \(delay\)|delayed mail|delivery delayed|warning: "
                            r"(?:message|delayed)|message delayed|delivery delay)", role="delay"),
    phrase("unsubscribe", STRONG, r"^(?:re: ?)?(?:unsubscribe|stop|remove me|remove|opt out|opt-out)\W*$"),
)

ENGLISH = Language(
    code="en",
    cues=CUES,
    subject_cues=SUBJECT_CUES,
    stopwords=frozenset("the and we you is will our your this that it have has was for with please of to be are "
                        "paid invoice payment thanks regards can would could".split()),
    negations=("not", "n't", "never", "no", "nothing", "neither", "nor", "without", "yet to", "instead of"),
    clause_breaks=("but", "however", "although", "though", "whereas", "except"),
    hypothetical=("until", "till", "once", "when", "if", "unless", "before", "after", "as soon as", "whether",
                  "would have", "could have", "would", "could", "wish we had", "should be"),
    conditions=(r"\b(?:once|as soon as|when|after|if|provided|unless|only when|only if|only once)\b(?: [\w'-]+){0,6}?"
                r" (?:you|your|we (?:receive|get|have)|it is|this is|the (?:invoice|amount|credit|error|correct\w*))\b",
                r"\bupon (?:receipt|receiving) of\b"),
    remainder=(r"\b(?:the rest|rest of|remainder|remaining|the balance|outstanding (?:amount|balance)|other half"
               r"|second "
               r"half|second (?:instal?lment|part|payment)|difference)\b",),
    months={"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
            "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
            "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12},
    weekdays={"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3,
              "friday": 4, "saturday": 5, "sunday": 6},
    numbers={"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
             "eight": 8, "nine": 9, "ten": 10, "fourteen": 14, "fifteen": 15, "thirty": 30, "a couple of": 2,
             "couple of": 2, "a couple": 2},
    day_words={"today": 0, "tonight": 0, "this morning": 0, "this afternoon": 0, "this evening": 0, "eod": 0,
               "end of day": 0, "end of the day": 0, "close of business": 0, "cob": 0, "later today": 0,
               "tomorrow": 1, "tmrw": 1, "tomorrow morning": 1, "the day after tomorrow": 2, "yesterday": -1,
               "last night": -1, "the day before yesterday": -2, "in a fortnight": 14,
               "a fortnight from now": 14, "a fortnight ago": -14},
    next_words=("next", "coming", "this coming", "the coming", "following", "the following"),
    last_words=("last", "past", "previous", "this past", "the previous"),
    this_words=("this",),
    units={"day": "day", "days": "day", "business days": "business_day", "working days": "business_day",
           "business day": "business_day", "working day": "business_day", "week": "week",
           "weeks": "week", "month": "month", "months": "month"},
    within=("in", "within", "in the next"),
    ago_after=("ago", "back"),
    periods={"end of the month": ("month_end", 0), "end of this month": ("month_end", 0),
             "end of month": ("month_end", 0),
             "month end": ("month_end", 0), "month-end": ("month_end", 0), "eom": ("month_end", 0),
             "the end of the current month": ("month_end", 0), "end of the current month": ("month_end", 0),
             "end of next month": ("month_end", 1), "end of the next month": ("month_end", 1),
             "end of the following month": ("month_end", 1), "next month": ("month", 1),
             "end of last month": ("month_end", -1), "end of the last month": ("month_end", -1),
             "end of the previous month": ("month_end", -1), "last month": ("vague", -1),
             "this month": ("month", 0), "later this month": ("month", 0),
             "end of the week": ("week_end", 0), "end of this week": ("week_end", 0), "end of week": ("week_end", 0),
             "eow": ("week_end", 0), "this week": ("week", 0), "later this week": ("week", 0),
             "end of next week": ("week_end", 1), "end of the next week": ("week_end", 1), "next week": ("week", 1),
             "end of the following week": ("week_end", 1), "end of last week": ("week_end", -1),
             "last week": ("vague", -1), "earlier this week": ("vague", 0), "early next week": ("vague", 1),
             "beginning of next month": ("vague", 1), "start of next month": ("vague", 1),
             "early next month": ("vague", 1), "the weekend": ("vague", 0), "a few days": ("vague", 1),
             "the next few days": ("vague", 1), "shortly": ("vague", 1), "soon": ("vague", 1),
             "asap": ("vague", 1), "as soon as possible": ("vague", 1)},
    month_end_words=("end of", "the end of", "late", "end"),
    month_mid_words=("mid", "mid-", "middle of", "the middle of"),
    day_of_month=(r"\b(?:on |by |before |from |until |till )?the (?P<day>\d{1,2})(?:st|nd|rd|th)?"
                  r"(?: of (?:(?P<this>this|the current)|(?P<next>next|the next|the following)|(?P<last>last|the "
                  r"previous)) month)?\b(?! ?(?:%|\d|[$€£]))",
                  r"\bon (?P<day>\d{1,2})(?:st|nd|rd|th)\b"),
    until_words=("until", "till", "til", "up to", "up until", "through", "thru", "through to"),
    through_words=("through", "thru", "to and including", "inclusive"),
    return_words=("back", "return", "returning", "returns", "in the office", "available again", "reachable", "reopen",
                  "reopens", "reopening", "re-open", "open again", "back open", "resume", "resuming"),
    range_words=("to", "-", "and", "through", "thru"),
    reference_words=("dated", "issued", "invoice date", "issue date", "due date", "due on", "was due", "due",
                     "dated the", "invoice of", "you sent", "billed on", "invoiced on"),
    wrote=("wrote",),
    header_from=("from",),
    header_fields=("sent", "date", "to", "cc", "subject", "reply-to"),
    separators=(r"-{2,}\s*original message\s*-{2,}", r"-{2,}\s*forwarded message\s*-{2,}", r"begin forwarded message",
                r"original message", r"forwarded message", r"#+ ?please (?:type your )?reply above this line",
                r"-{2,} ?reply above this line ?-{2,}", r"this is a copy of the (?:original )?message",
                r"-{3,}\s*(?:the )?original message"),
    sign_offs=(r"(?:best|kind|warm|warmest|many|with kind|with best|best of|yours|sincere)? ?regards",
               r"(?:yours )?sincerely", r"yours (?:faithfully|truly)", r"all the best", r"best wishes", r"cheers",
               r"br", r"kr", r"best", r"respectfully", r"many thanks and (?:kind )?regards"),
    mobile_signatures=(r"sent from my \w+", r"sent from (?:outlook|mail|yahoo mail|samsung|gmail|aol)",
                       r"get outlook for (?:ios|android)", r"sent via \w+", r"sent with \w+"),
    disclaimers=(r"(?:this|the) (?:e-?mail|message|communication|transmission)\b.{0,120}\b(?:confidential|privileged|"
                 r"intended (?:solely |only |exclusively )?for)",
                 r"(?:confidentiality|legal|email|e-mail) (?:notice|disclaimer|statement)", r"disclaimer\b",
                 r"please consider the environment", r"the information (?:contained )?in this (?:e-?mail|message)",
                 r"if you (?:are not|have received this) .{0,40}(?:intended recipient|in error)",
                 r"privileged (?:and|&) confidential"),
)
