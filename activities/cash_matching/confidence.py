"""How sure the matching engine is of each kind of evidence: the base confidence of each way an amount
pays invoices, and what a doubtful payer name or reference costs. They were set from the benchmark
(`duecourse bench match`), which prints how often each was right; a change here moves its figures.
"""

REF_EXACT = 0.995
REF_TOLERANCE = 0.99
REF_OVERPAID = 0.965
REF_PARTIAL = 0.955
REF_SUBSET = 0.85
REF_SHORT = 0.8
NAME_EXACT = 0.985
NAME_EXACT_RECURRING = 0.975
NAME_TOLERANCE = 0.975
NAME_COMBINATION = 0.8
NAME_AMBIGUOUS = 0.7
NAME_SHORT = 0.65
NAME_OVERPAID = 0.55
REF_FOREIGN_CURRENCY = 0.8
REF_POINTS_ELSEWHERE = 0.7  # the amount is another open invoice of the customer than the one named
PAYERS_OWN_INSTEAD = 0.75  # another customer's invoice named, the amount is one of the payer's own
NAME_WITHOUT_FIT = 0.2
# A number one slip from an invoice whose balance is the amount, paid by its customer, no other as near.
NEAR_MISS_SURE = 0.96
# ... otherwise a suggestion
NEAR_MISS = 0.75
# How much an unrecognised payer name costs a reference match that agrees on the amount.
UNKNOWN_PAYER_PENALTY = 0.03
WEAK_REFERENCE_PENALTY = 0.02
# Confidence lost per unit of name dissimilarity on a match that rests on the name.
NAME_SLOPE = 0.6
# A name below `name_strong` is a hint, not an identification: only an amount that fits exactly keeps
# the suggestion above the review floor.
WEAK_NAME_PENALTY = 0.1
WEAK_NAME_GUESS_PENALTY = 0.3
NAME_SLOPE_DISTINCT = 0.3
MAX_CONFIDENCE = 0.995
