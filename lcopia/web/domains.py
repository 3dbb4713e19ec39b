"""Host names: registrable domains (public suffix list) and matching hosts to systems.

Parties are grouped by registrable domain so that every host of one site is one party;
the inventory's systems are matched by the domains they list.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

import publicsuffixlist

from lcopia.models import System

DOCUMENTATION_SUFFIXES = ("example.com", "example.net", "example.org")
"""RFC 2606 §3 reserves these second-level names for documentation. They are added to the
public suffix list as private suffixes so that an illustrative site such as
``lcozarks.example.org`` is its own party, as ``lcozarks.org`` would be. (The reserved
top-level names ``.example``, ``.test``, ``.invalid`` already behave so under the list's
default rule.)"""

HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
                      r"(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$")


@lru_cache(maxsize=1)
def _psl() -> publicsuffixlist.PublicSuffixList:
    with open(publicsuffixlist.PSLFILE, "rb") as handle:
        lines = handle.read().splitlines()
    lines += [s.encode() for s in DOCUMENTATION_SUFFIXES]
    return publicsuffixlist.PublicSuffixList(lines)


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """The registrable domain ("eTLD+1") of a host; an IP literal or a bare suffix is itself.

    ``fonts.gstatic.com`` → ``gstatic.com``; ``www.bbc.co.uk`` → ``bbc.co.uk``;
    ``alice.github.io`` → ``alice.github.io`` (github.io is a public suffix).
    """
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        return name
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    found = _psl().privatesuffix(name)
    return found or name


def normalise_domain(value: str) -> str | None:
    """A user- or inventory-given domain, host or URL reduced to a lowercase host."""
    text = value.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/")[0].rstrip(".")
    if text.startswith("*."):
        text = text[2:]
    if not text:
        return None
    if HOSTNAME.match(text):
        return text
    try:
        ipaddress.ip_address(text.strip("[]"))
        return text
    except ValueError:
        return None


def match_system(domain: str, systems: Iterable[System]) -> str | None:
    """The system whose ``domains`` cover a third-party domain or host, or None.

    A system's domains may list hosts (``covers.readwell.example``) or registrable domains;
    an exact host wins over a parent domain, which wins over a same-party match; ties go
    to the lowest system_id so the answer is stable.
    """
    target = normalise_domain(domain)
    if target is None:
        return None
    party = registrable_domain(target)
    best: tuple[int, str] | None = None
    for system in systems:
        for listed in system.domains:
            host = normalise_domain(listed)
            if host is None:
                continue
            if host == target:
                rank = 0
            elif target.endswith("." + host):
                rank = 1
            elif registrable_domain(host) == party:
                rank = 2
            else:
                continue
            if best is None or (rank, system.system_id) < best:
                best = (rank, system.system_id)
    return best[1] if best else None
