"""The canary search term: typed into the catalog search instead of a real search.

It is harmless (two plain words and a number, nothing a patron would look for), and
unique enough that finding it in a request to another company can only mean the search
left the library. The term is written in the capture manifest, where ``lcopia web`` reads
it back.
"""

from __future__ import annotations

import random

FIRST = ("amber", "brisk", "cedar", "copper", "dapple", "ember", "fable", "garnet", "hazel",
         "indigo", "juniper", "kestrel", "linden", "maple", "nimbus", "opal", "pebble",
         "quartz", "russet", "saffron", "tamarack", "umber", "velvet", "willow")
SECOND = ("almanac", "button", "compass", "dormouse", "easel", "ferry", "gazebo", "harbor",
          "inkwell", "jigsaw", "kettle", "lantern", "meadow", "notebook", "orchard",
          "pinwheel", "quill", "rowboat", "sundial", "teapot", "umbrella", "violin",
          "windmill", "yarrow")
MIN_CHARS = 3
MAX_CHARS = 100


def canary_term(rng: random.Random | None = None) -> str:
    """Two words and a four-digit number, e.g. ``maple lantern 4821``."""
    rng = rng or random.SystemRandom()
    return f"{rng.choice(FIRST)} {rng.choice(SECOND)} {rng.randint(1000, 9999)}"


def check_term(term: str) -> str | None:
    """Why a search term given by the user cannot be used as a canary, or None."""
    text = " ".join(term.split())
    if len(text) < MIN_CHARS:
        return (f"is shorter than {MIN_CHARS} characters, too short to recognise in a "
                "request; give a longer term or leave --search out to use a generated one")
    if len(text) > MAX_CHARS:
        return f"is longer than {MAX_CHARS} characters; give a shorter term"
    if any(ord(c) < 32 or ord(c) == 127 for c in term):
        return "contains control characters; type plain words"
    return None
