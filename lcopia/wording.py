"""Small helpers for words people read: real plurals, never "request(s)".

Kept apart from the report package so the scan, the scoring and the command line can use
them without importing the report.
"""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 request', '2 requests', '3 people' (with ``many``): never 'request(s)'."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
