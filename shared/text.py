"""Characters that text from outside must not carry into storage or matching.

- Control characters (C0 and DEL): a NUL byte cannot even be stored in PostgreSQL text, and
  none of them belongs in a name, a key or an id.
- Format characters (Unicode category Cf: zero-width space and joiners, word joiner, byte-order
  mark, bidirectional controls, soft hyphen…): invisible, they change no letter on screen, yet
  make a copy differ from its original to a matcher or to someone searching.
"""

from __future__ import annotations

import re
import sys
import unicodedata

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORMAT = re.compile(
    "["
    + "".join(
        re.escape(chr(code))
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) == "Cf"
    )
    + "]"
)
# For identifiers in contracts and headers (JSON Schema / OpenAPI ``pattern``).
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def without_format(text: str) -> str:
    """``text`` without its format characters."""
    return FORMAT.sub("", text)
