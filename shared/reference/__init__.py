"""Reference data (union tree, program calendar, targets): loaded from files and validated."""

from __future__ import annotations


class ReferenceDataError(ValueError):
    """A reference file is wrong; the message names the file and line."""
