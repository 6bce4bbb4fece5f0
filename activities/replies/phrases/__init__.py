"""The phrases replies are read with, one module per language (en, de, fr, es, nl, it, pt), all with the
same shape (`vocabulary.Language`), so two languages compare file by file and a new one is one more file.

`LANGUAGES` is every language; `BODY_CUES` and `SUBJECT_CUES` are their cues compiled once.
"""

from __future__ import annotations

from activities.replies.phrases.de import GERMAN
from activities.replies.phrases.en import ENGLISH
from activities.replies.phrases.es import SPANISH
from activities.replies.phrases.fr import FRENCH
from activities.replies.phrases.it import ITALIAN
from activities.replies.phrases.nl import DUTCH
from activities.replies.phrases.pt import PORTUGUESE
from activities.replies.phrases.vocabulary import MEDIUM, STRONG, WEAK, Cue, Language, compile_cues

LANGUAGES: tuple[Language, ...] = (ENGLISH, GERMAN, FRENCH, SPANISH, DUTCH, ITALIAN, PORTUGUESE)

BODY_CUES: tuple[Cue, ...] = tuple(cue for lang in LANGUAGES for cue in compile_cues(lang.code, lang.cues))
SUBJECT_CUES: tuple[Cue, ...] = tuple(cue for lang in LANGUAGES for cue in compile_cues(lang.code, lang.subject_cues))

__all__ = ["BODY_CUES", "LANGUAGES", "MEDIUM", "STRONG", "SUBJECT_CUES", "WEAK", "Cue", "Language"]
