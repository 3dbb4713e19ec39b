"""File primitives every reader shares: refuse special files, bounded reads, one decoder,
one strict YAML reader, streamed hashes and atomic writes.

Each reader of the project used to carry its own copy of these; one copy means one set of
limits and one wording for each refusal. Nothing here prints; problems are raised as
:class:`FileProblem`, which names the file and says what to do.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

try:
    from yaml.cyaml import CParser
except ImportError:  # a PyYAML built without libyaml
    CParser = None

from lcopia.errors import LcopiaError

MAX_YAML_DEPTH = 12
HASH_CHUNK = 1 << 20


class FileProblem(LcopiaError):
    """A file that cannot be used as it is: ``file`` as the user knows it, and the fix."""

    def __init__(self, file: str, expected: str, *, line: int | None = None) -> None:
        self.file, self.expected, self.line = file, expected, line
        super().__init__(f"{file}; {expected}")


# ----------------------------------------------------------------------------- opening

_KINDS = (
    (stat.S_ISLNK, "is a symbolic link; lcopia reads only regular files inside the folder: "
                   "copy the real file here instead of linking to it"),
    (stat.S_ISDIR, "is a folder, not a file; put the file itself here"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a regular file; lcopia would wait on it "
                    "forever, so it refuses it: put the exported file here instead"),
    (stat.S_ISSOCK, "is a socket, not a regular file; put the exported file here instead"),
    (stat.S_ISCHR, "is a device, not a regular file; put the exported file here instead"),
    (stat.S_ISBLK, "is a device, not a regular file; put the exported file here instead"),
)


def file_kind_problem(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is refused, or None for a regular file."""
    for test, why in _KINDS:
        if test(mode):
            return why
    return None if stat.S_ISREG(mode) else "is not a regular file"


def require_regular_file(path: Path, rel: str, *, missing: str | None = None
                         ) -> os.stat_result:
    """The file's ``lstat``, after refusing what is missing, a link or a special file.

    Checked before any ``open`` so a FIFO can never block a read and a link can never echo
    a file from outside the project.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise FileProblem(rel, missing or "file is missing") from None
    except OSError as exc:
        raise FileProblem(rel, _os_reason(exc)) from None
    why = file_kind_problem(st.st_mode)
    if why:
        raise FileProblem(rel, why)
    return st


def _os_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ("cannot be read: permission denied; give your user read access to it "
                "(or copy it to a folder you own)")
    if exc.errno == errno.ENAMETOOLONG:
        return "has a name too long for this system; give it a shorter name"
    if exc.errno == errno.ELOOP:
        return ("is a symbolic link; lcopia reads only regular files inside the folder: "
                "copy the real file here instead of linking to it")
    return f"cannot be read ({os.strerror(exc.errno or 0) or type(exc).__name__})"


def read_bytes_limited(path: Path, rel: str, limit: int, *, what: str = "file",
                       missing: str | None = None) -> bytes:
    """All bytes of a regular file no larger than ``limit``; refuses anything else."""
    require_regular_file(path, rel, missing=missing)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise FileProblem(rel, _os_reason(exc)) from None
    with os.fdopen(fd, "rb") as fh:
        why = file_kind_problem(os.fstat(fd).st_mode)  # swapped after lstat: check again
        if why:
            raise FileProblem(rel, why)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise FileProblem(rel, f"is larger than the {limit // 1_000_000:,} MB a {what} may be; "
                               "is this the right file?")
    return data


# ----------------------------------------------------------------------------- decoding


def decode_text(raw: bytes, rel: str) -> tuple[str, list[str]]:
    """Text from the encodings spreadsheets write, plus warnings (Windows-1252 is allowed
    with one); raises :class:`FileProblem` for binary or undecodable bytes."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), []
        except UnicodeDecodeError:
            raise FileProblem(rel, "starts like UTF-16 but is not valid UTF-16; "
                                   "save it again as 'CSV UTF-8'") from None
    if b"\x00" in raw[:4096]:
        raise FileProblem(rel, "is binary, not text; save it as 'CSV UTF-8 (comma delimited)'")
    nul = raw.find(b"\x00")
    if nul >= 0:  # a NUL further in would end up inside an id, unseen
        line = raw.count(b"\n", 0, nul) + 1
        raise FileProblem(rel, f"contains a NUL byte on line {line}, so it is not plain "
                               "text; save it again as 'CSV UTF-8 (comma delimited)'")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise FileProblem(rel, "is neither UTF-8 nor Windows-1252 text; "
                               "save it as 'CSV UTF-8 (comma delimited)'") from None
    return text, [f"{rel} is not UTF-8; read it as Windows-1252. Save it as 'CSV UTF-8' to "
                  "be sure accented characters are right."]


# ----------------------------------------------------------------------------- YAML


class _Strict:
    """Refuses duplicate keys, aliases (alias bombs) and deep nesting, while composing."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(
                None, None, "aliases (*name) are not allowed in lcopia data files",
                event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.constructor.ConstructorError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _StrictLoader(_Strict, yaml.SafeLoader):
    """The strict rules on PyYAML's pure-Python SafeLoader (where libyaml is missing)."""


if CParser is not None:
    class _StrictCLoader(_Strict, Composer, CParser, SafeConstructor, Resolver):
        """The strict rules on libyaml's parser: libyaml reads the events (about six times
        faster than PyYAML's scanner), and PyYAML's composer, which ``_Strict`` extends,
        builds the nodes, so nesting is checked before it is built and an alias is refused
        before it is followed, exactly as on the pure-Python loader."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)

    LOADER: type = _StrictCLoader
else:
    LOADER = _StrictLoader


_PARSED: OrderedDict[tuple[str, str], Any] = OrderedDict()
_PARSED_MAX = 64


def parse_yaml(text: str, rel: str) -> Any:
    """A YAML mapping parsed strictly (no duplicate keys, aliases or deep nesting).

    A process that loads the same policy files many times (the notebooks' kernels, the
    tests) parses each distinct text once and gets a copy.
    """
    key = (rel, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    if key in _PARSED:
        _PARSED.move_to_end(key)
        return _fresh(_PARSED[key])
    data = _parse_yaml(text, rel)
    _PARSED[key] = data
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)
    return _fresh(data)


def _fresh(value: Any) -> Any:
    """A copy of parsed YAML a caller may change: its mappings, lists and sets are new, the
    rest (text, numbers, dates) cannot change (3x quicker than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, set):
        return set(value)
    return value


def _parse_yaml(text: str, rel: str) -> Any:
    try:
        data = yaml.load(text, Loader=LOADER)  # strict and safe: see _Strict
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}" if mark else "somewhere"
        what = str(exc.problem or exc.context)
        if what.startswith("exceeded maximum nesting depth"):  # libyaml's own limit, 1,000
            what = f"nested deeper than {MAX_YAML_DEPTH} levels"
        if what.startswith("duplicate key"):
            fix = "keep one of the two and delete the other"
        elif what.startswith("aliases"):
            fix = "write the value out in full where the alias is"
        elif what.startswith("nested deeper"):
            fix = "lcopia files are a few levels deep; look for unclosed brackets there"
        else:
            fix = "check indentation and quotes there"
        raise FileProblem(rel, f"is not valid YAML at {line}: {what}; {fix}") from None
    except yaml.YAMLError as exc:
        raise FileProblem(rel, f"is not valid YAML ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise FileProblem(rel, "should be a YAML mapping of keys to values; it is empty "
                               "or a plain list")
    return data


def read_yaml(path: Path, rel: str, *, limit: int = 20 * 1024 * 1024,
              missing: str | None = None) -> Any:
    """One YAML data file, read as strictly as the policy; raises :class:`FileProblem`."""
    text, _warnings = decode_text(read_bytes_limited(path, rel, limit, what="YAML file",
                                                     missing=missing), rel)
    return parse_yaml(text, rel)


# ----------------------------------------------------------------------------- hashes, writes


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hash in chunks: evidence files can be far larger than memory should hold."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomic(path: Path, data: str | bytes, *, mode: int = 0o644) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
