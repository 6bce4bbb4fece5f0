"""How a CLI command that used the Temporal client ends."""

from __future__ import annotations

import os
import sys


def finish(code: int) -> int:
    """Exit at once when run as the `duecourse` program: the Temporal client's native threads can outlive
    the interpreter's shutdown and abort it ("PyGILState_Release ... finalizing", exit 134) after the
    answer was printed. Everything is written and flushed by then; in-process callers get the code back."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.path.basename(sys.argv[0]) == "duecourse":
        os._exit(code)
    return code
