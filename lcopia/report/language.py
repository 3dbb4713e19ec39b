"""House style for Board- and patron-facing text: American English, real plurals, clean dates.

The report goes to a Missouri Board of Trustees and to patrons. ``style_problems`` finds the
slips a reviewer flagged (British spellings, "request(s)", "between X to Y", "For The …",
a role name repeated in one phrase), so a test can scan every rendered page; ``plural`` and
``inline`` help the builders write it right in the first place.
"""

from __future__ import annotations

import datetime as dt
import re

from lcopia.wording import plural

__all__ = ["plural"]

# British form (as a regular expression on a lower-case word) → the American word to use.
BRITISH: dict[str, str] = {
    r"organis(e|es|ed|ing|ation|ations|ational)": "organiz…",
    r"programmes?": "program",
    r"catalogu(e|es|ed|ing)": "catalog",
    r"minimis(e|es|ed|ing|ation)": "minimiz…",
    r"anonymis(e|es|ed|ing|ation)": "anonymiz…",
    r"pseudonymis(e|es|ed|ing|ation)": "pseudonymiz…",
    r"summaris(e|es|ed|ing)": "summariz…",
    r"recognis(e|es|ed|ing)": "recogniz…",
    r"prioritis(e|es|ed|ing|ation)": "prioritiz…",
    r"authoris(e|es|ed|ing|ation|ations)": "authoriz…",
    r"categoris(e|es|ed|ing|ation)": "categoriz…",
    r"utilis(e|es|ed|ing|ation)": "utiliz…",
    r"standardis(e|es|ed|ing)": "standardiz…",
    r"customis(e|es|ed|ing)": "customiz…",
    r"finalis(e|es|ed|ing)": "finaliz…",
    r"neutralis(e|es|ed|ing)": "neutraliz…",
    r"behaviours?": "behavior",
    r"colours?": "color",
    r"favour(s|ed|ite|able)?": "favor",
    r"honour(s|ed)?": "honor",
    r"neighbour(s|hood)?": "neighbor",
    r"centres?": "center",
    r"licence": "license",
    r"defence": "defense",
    r"offence": "offense",
    r"judgement": "judgment",
    r"labell(ed|ing)": "label…",
    r"cancell(ed|ing)": "cancel…",
    r"travell(ed|ing|er)": "travel…",
    r"enrolment": "enrollment",
    r"whilst": "while",
    r"amongst": "among",
    r"per cent": "percent",
}
_BRITISH = re.compile(r"\b(" + "|".join(BRITISH) + r")\b", re.IGNORECASE)
_PAREN_PLURAL = re.compile(r"\b[A-Za-z]+\(s\)")
_BETWEEN_TO = re.compile(r"\bbetween\b[^.;:()\n]{1,60}?\bto\b", re.IGNORECASE)
_FOR_THE = re.compile(r"\b(?:For|for|Applies to|applies to) The\b")
_REPEATED_ROLE = re.compile(
    r"\b((?:[A-Z][a-z]+ ){1,3}[A-Z][a-z]+)\b[^.\n]{0,80}?, \1\b")


def style_problems(text: str) -> list[str]:
    """Every slip found in ``text``, as the offending words (empty means clean)."""
    out = [m.group(0) for m in _BRITISH.finditer(text)]
    out += [m.group(0) for m in _PAREN_PLURAL.finditer(text)]
    out += [m.group(0) for m in _BETWEEN_TO.finditer(text)
            if not re.search(r"\band\b", m.group(0))]
    out += [m.group(0) for m in _FOR_THE.finditer(text)]
    out += [m.group(0) for m in _REPEATED_ROLE.finditer(text)]
    return out


def inline(text: str) -> str:
    """A label that starts a sentence made fit for the middle of one: 'The policy' → 'the
    policy' (only a leading article; names keep their capitals)."""
    for article in ("The ", "A ", "An "):
        if text.startswith(article):
            return article.lower() + text[len(article):]
    return text


_IDS = re.compile(
    r"\s*[\[(](?:[A-Z]{1,4}-[\w.@:/-]+(?:;\s*)?)+[\])]"  # (DR-2026-004), [EV-x@FL-y:z]
    r"|\b(?:DR|FL|EV|WEB|POL|LCO|RSMO)-[A-Z0-9][\w.@:/-]*")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# File and column names belong in the spreadsheets, not in what the Board reads.
_FILE = re.compile(r"\b(?:[\w-]+/)*[\w-]+\.(csv|tsv|txt|xlsx|xls|jsonl|json|parquet|har|yaml)\b",
                   re.IGNORECASE)
_FILE_WORDS = {"har": "the page capture", "yaml": "the data file"}
_COLUMN = re.compile(r"\b(columns?|in) '([^'\s]{1,80})'")


def plain(text: str) -> str:
    """Board text: internal ids, file and column names removed, and ISO dates written as an
    American reader does (the spreadsheets keep every id and name)."""
    def date(m: re.Match[str]) -> str:
        try:
            day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            return f"{day:%B} {day.day}, {day.year}"
        except ValueError:
            return m.group(0)

    out = _ISO.sub(date, _IDS.sub("", text))
    out = _FILE.sub(lambda m: _FILE_WORDS.get(m.group(1).lower(), "the exported file"), out)
    out = _COLUMN.sub(lambda m: "in a column" if m.group(1) == "in" else "a column", out)
    return re.sub(r"\s{2,}", " ", re.sub(r"\s+([,.;:])", r"\1", out)).strip()
