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


def _invisible_class() -> str:
    """A regex character class of white space, control and format characters, written so that
    Python's ``re`` and ECMA-262 (with the ``u`` flag, as JSON Schema validators use it) read it
    alike: BMP characters as ``\\uXXXX`` escapes, the few beyond it as themselves."""
    codes = [
        code
        for code in range(sys.maxunicode + 1)
        if chr(code).isspace() or unicodedata.category(chr(code)) in ("Cc", "Cf")
    ]
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])

    def one(code: int) -> str:
        return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)

    return "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for a, b in ranges)


# Characters nobody sees: white space, control and format characters.
INVISIBLE = _invisible_class()
_VISIBLE = re.compile(f"[^{INVISIBLE}]")


def visible_length(text: str) -> int:
    """How many characters of ``text``, as sent, are neither white space, nor control, nor
    format characters: what a text's minimum length counts."""
    return len(_VISIBLE.findall(text))


def at_least_visible(count: int) -> str:
    """A JSON Schema ``pattern`` that holds when a text has ``count`` visible characters."""
    return f"^(?:[{INVISIBLE}]*[^{INVISIBLE}]){{{count}}}"


def without_format(text: str) -> str:
    """``text`` without its format characters."""
    return FORMAT.sub("", text)
