"""Customer replies to payment reminders, read by rules: what kind each is (paid, promise, dispute, request
for a copy or a plan, question, wrong contact, out of office, unsubscribe, bounce, other), the date it gives
and how sure the rules are. Pure functions, no I/O; the product and `duecourse replies classify` share them.

- `plain_text`: the body as text (HTML flattened, bounded) and the folded form patterns are written against;
- `quoting`: the customer's own words, without the quoted reminder, signatures and disclaimers;
- `phrases/`: one module per language with its phrases and date words;
- `dates`: date expressions placed relative to the day received;
- `classify`: the decision, its date and confidence, and the seam for a second opinion.
"""

from activities.replies.classify import (
    REVIEW_THRESHOLD,
    SecondOpinion,
    classify,
    classify_with_second_opinion,
    fact_checked,
)
from activities.replies.model import DATED_KINDS, PRECEDENCE, Classification, Kind, Reply

__all__ = [
    "DATED_KINDS",
    "PRECEDENCE",
    "REVIEW_THRESHOLD",
    "Classification",
    "Kind",
    "Reply",
    "SecondOpinion",
    "classify",
    "classify_with_second_opinion",
    "fact_checked",
]
