"""Text every database here can store: what typed answers are cleaned of (dialogs.cleaning) and what an imported
register or need file is refused for (storage.register)."""

from __future__ import annotations

import re

# Control characters nobody types and PostgreSQL refuses (NUL): C0 except tab and newline, DEL, C1. And lone
# UTF-16 surrogates (JSON may carry "\ud800"), which no database stores.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """What in `value` can't be stored as it is, in words (naming the character), or None."""
    found = CONTROL.search(value) or SURROGATE.search(value)
    if found is None:
        return None
    kind = "a control character" if CONTROL.match(found.group()) else "a broken character"
    return f"{kind} (U+{ord(found.group()):04X}) at character {found.start() + 1}"
