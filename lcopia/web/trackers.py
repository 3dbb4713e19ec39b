"""The tracker list: which organization runs a third-party domain, and what kind it is.

The default list ships inside the package (read with ``importlib.resources``, so it is
found wherever lcopia is installed, never by guessing a path from the source tree). A
project may add its own ``web/trackers.yaml`` on top; the entries of the project file win
for the domains they name. The exact bytes read are hashed, so a run manifest can record
the list that was really used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from lcopia.errors import InventoryError, Problem
from lcopia.fsio import FileProblem, parse_yaml, read_bytes_limited
from lcopia.web.domains import registrable_domain
from lcopia.web.models import Category

PACKAGED_TRACKERS = "lcopia/web/data/trackers.yaml"
"""The name under which the packaged list is reported (and hashed) in a run manifest."""


def packaged_trackers() -> Traversable:
    """The tracker list shipped with lcopia."""
    return files("lcopia.web").joinpath("data", "trackers.yaml")


DEFAULT_TRACKERS = Path(str(packaged_trackers()))
"""Kept for callers that hash the default list by path; prefer ``TrackerList.files``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrackerEntry(_Model):
    domain: str
    organisation: str
    category: Category
    source: str
    note: str = ""


class TrackerList(_Model):
    as_of: dt.date
    sources: str
    trackers: list[TrackerEntry]
    _files: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def files(self) -> dict[str, str]:
        """sha256 of every list file read (the packaged one by its package path, a project's
        as ``web/trackers.yaml``): the bytes parsed are the bytes hashed."""
        return dict(self._files)


def _parse(name: str, data: bytes, key: str | None = None) -> TrackerList:
    try:
        raw = parse_yaml(data.decode("utf-8"), name)  # the one strict (and cached) reader
    except UnicodeDecodeError:
        raise InventoryError([Problem(name, None, "must be readable UTF-8 YAML")]) from None
    except FileProblem as exc:  # "is not valid YAML at line 3: ...", "should be a mapping"
        raise InventoryError([Problem(name, None, f"must be readable UTF-8 YAML; it "
                                                  f"{exc.expected}")]) from None
    try:
        listing = TrackerList.model_validate(raw)
    except ValidationError as exc:
        problems = [Problem(name, ".".join(str(p) for p in err["loc"]) or None, err["msg"])
                    for err in exc.errors(include_input=False)]
        raise InventoryError(problems) from None
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, entry in enumerate(listing.trackers):
        where = f"trackers.{index}.domain"
        if entry.domain != entry.domain.lower() or registrable_domain(entry.domain) != entry.domain:
            problems.append(Problem(name, where, "a registrable domain in lowercase, e.g. "
                                    "'gstatic.com' not 'fonts.gstatic.com'", value=entry.domain,
                                    suggestion=registrable_domain(entry.domain.lower())))
        if entry.domain in seen:
            problems.append(Problem(name, where, "each domain once", value=entry.domain))
        seen.add(entry.domain)
        if not entry.source.strip():
            problems.append(Problem(name, f"trackers.{index}.source",
                                    "where the classification is documented"))
    if problems:
        raise InventoryError(problems)
    listing._files[key or name] = hashlib.sha256(data).hexdigest()
    return listing


MAX_TRACKERS_BYTES = 20 * 1024 * 1024


def _read(path: Path) -> bytes:
    """A list file's bytes; links, FIFOs and devices refused before any open (fsio)."""
    return read_bytes_limited(path, str(path), MAX_TRACKERS_BYTES, what="tracker list",
                              missing="the tracker list is missing; restore it or give the "
                              "right path")


def load_trackers(path: Path | None = None, *, overlay: Path | None = None) -> TrackerList:
    """Read and check the host classification list (a project data file, not evidence).

    ``path`` replaces the packaged list; ``overlay`` (a project's ``web/trackers.yaml``)
    is read on top of it: its entries replace those of the same domain and add the rest.
    """
    if path is None:
        listing = _parse(PACKAGED_TRACKERS, packaged_trackers().read_bytes())
    else:
        listing = _parse(str(path), _read(path))
    if overlay is None:
        return listing
    extra = _parse(str(overlay), _read(overlay), f"{overlay.parent.name}/{overlay.name}")
    mine = {t.domain for t in extra.trackers}
    merged = TrackerList(
        as_of=max(listing.as_of, extra.as_of),
        sources=f"{listing.sources.strip()} Project additions ({overlay}): "
                f"{extra.sources.strip()}",
        trackers=[t for t in listing.trackers if t.domain not in mine] + extra.trackers)
    merged._files.update(listing._files)
    merged._files.update(extra._files)
    return merged
