"""k-anonymity, l-diversity and class counting on integer codes, in bounded memory.

Columns are dictionary-encoded into stable integer codes across chunks (:class:`Encoder`);
code tuples are packed into one integer key and counted with ``np.unique``, merged chunk by
chunk (:class:`Counter`), and kept packed (:class:`Counted`, 16 bytes a distinct tuple) to
the end. Memory grows with the number of classes, never with rows times columns; never loop
over groups row by row (pycanon's per-group ``iloc`` is quadratic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lcopia.evidence.dates import parse_counts


class Encoder:
    """Stable integer codes per column across chunks (0 = empty), via a growing dictionary.

    Grouping on small integers instead of strings is what keeps k-anonymity and l-diversity
    cheap on millions of rows; the dictionaries grow with distinct values, not with rows.
    """

    def __init__(self) -> None:
        self.known: dict[str, pa.Array] = {}

    def encode(self, name: str, arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Codes of one chunk of a column; ``arr`` may come dictionary-encoded already.

        Text is looked up as text; integers (days or months of coarsened dates) stay
        integers, which hash several times faster than their text would.
        """
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
        # hash the rows once into a local dictionary, then map only that small dictionary
        # onto the global one
        local = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
        words = local.dictionary
        known = self.known.get(name)
        if known is None:  # first chunk (or the whole file): its dictionary is the global one
            self.known[name] = _plain(words)
            return pc.fill_null(local.indices, -1).to_numpy(zero_copy_only=False).astype(
                np.int64) + 1  # 0 = empty cell
        else:
            idx = pc.index_in(words, value_set=known)
            unseen = pc.is_null(idx)
            if pc.any(unseen).as_py():
                known = pa.concat_arrays([known, _plain(pc.filter(words, unseen))])
                idx = pc.index_in(words, value_set=known)
                self.known[name] = known
            mapping = np.asarray(pc.fill_null(idx, -1).to_numpy(zero_copy_only=False),
                                 dtype=np.int64) + 1
        local_idx = pc.fill_null(local.indices, -1).to_numpy(zero_copy_only=False)
        if local.indices.null_count == 0:
            return mapping[local_idx]
        out = np.zeros(len(arr), dtype=np.int64)  # 0 = empty cell
        valid = local_idx >= 0
        out[valid] = mapping[local_idx[valid]]
        return out

    def size(self, name: str) -> int:
        return len(self.known.get(name, [])) + 1


def _plain(words: pa.Array) -> pa.Array:
    """A dictionary's values as the type every later chunk is looked up in: integers as they
    are, anything else as strings."""
    return words if pa.types.is_integer(words.type) else words.cast(pa.string())


def _fits_one_key(sizes: list[int]) -> bool:
    return float(np.prod([float(x) for x in sizes])) < 2.0**62


def _keys(codes: np.ndarray | list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 per code tuple (mixed radix over the column sizes); needs _fits_one_key.

    ``codes`` is a matrix with a column per name, or the list of those columns (which
    saves stacking a million-row matrix only to read it column by column).
    """
    columns = codes if isinstance(codes, list) else [codes[:, j] for j in range(len(sizes))]
    key = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    for column, size in zip(columns, sizes, strict=True):
        key = key * size + column
    return key


@dataclass(frozen=True)
class Counted:
    """Distinct code tuples in lexicographic order and their counts, held compactly.

    When the column sizes fit one integer key, a tuple is one packed int64 (8 bytes however
    many columns); otherwise the code rows themselves are kept. Sorted packed keys are in the
    same order as the sorted code rows, so every run-based step reads either the same way.
    """

    keys: np.ndarray | None  # sorted distinct packed keys (when the sizes fit one key)
    codes: np.ndarray | None  # else the distinct code rows, sorted
    counts: np.ndarray
    sizes: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.counts)

    def take(self, index: np.ndarray) -> Counted:
        """The tuples at ``index`` (still sorted if ``index`` is)."""
        return Counted(None if self.keys is None else self.keys[index],
                       None if self.codes is None else self.codes[index],
                       self.counts[index], self.sizes)

    def matrix(self) -> np.ndarray:
        """The code rows (decoded from the keys if packed)."""
        if self.codes is not None:
            return self.codes
        assert self.keys is not None
        return _decode(self.keys, list(self.sizes))

    def column(self, j: int) -> np.ndarray:
        """The codes of column ``j`` for every tuple."""
        if self.keys is None:
            assert self.codes is not None
            return self.codes[:, j]
        below = int(np.prod([float(x) for x in self.sizes[j + 1:]])) if j + 1 < len(
            self.sizes) else 1
        return (self.keys // below if below > 1 else self.keys) % self.sizes[j]

    def runs(self, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(first index, summed count, length) of each run sharing the first ``q`` codes."""
        n = len(self.counts)
        if n == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        starts = self.run_starts(q)
        return starts, np.add.reduceat(self.counts, starts), np.diff(np.append(starts, n))

    def run_starts(self, q: int) -> np.ndarray:
        """First index of each run sharing the first ``q`` codes (needs at least one tuple)."""
        new = np.ones(len(self.counts), dtype=bool)
        if self.keys is not None:
            prefix = self.keys // int(np.prod(self.sizes[q:], dtype=np.int64))
            np.not_equal(prefix[1:], prefix[:-1], out=new[1:])
            del prefix
        else:
            assert self.codes is not None
            head = self.codes[:, :q]
            new[1:] = np.any(head[1:] != head[:-1], axis=1)
        return np.flatnonzero(new)


def _decode(keys: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Code rows of packed keys (the inverse of :func:`_keys`)."""
    rows = np.empty((len(keys), len(sizes)), dtype=np.int64)
    rest = keys
    for j in range(len(sizes) - 1, -1, -1):
        rest, rows[:, j] = np.divmod(rest, sizes[j])
    return rows


def _rekey(keys: np.ndarray, old: tuple[int, ...], new: tuple[int, ...]) -> np.ndarray:
    """Packed keys made under older column sizes, packed again under the current ones.

    Dictionaries only grow, so a code keeps its value; only the radix changes. Column by
    column, so no code matrix is built.
    """
    if old == new:
        return keys
    out = np.zeros(len(keys), dtype=np.int64)
    rest = keys
    mult = 1
    for j in range(len(old) - 1, -1, -1):
        rest, column = np.divmod(rest, old[j])
        out += column * mult
        mult *= new[j]
    return out


class Counter:
    """Counts of distinct code tuples, merged chunk by chunk (exact, no hashing collisions).

    Each chunk's distinct tuples are kept as packed int64 keys with their counts (16 bytes a
    tuple however many columns), so a streamed scan's state grows with the number of
    distinct tuples, not with rows times columns.
    """

    MERGE_PARTS = 16  # parts held before they are merged into one

    def __init__(self, names: list[str], encoder: Encoder) -> None:
        self.names, self.encoder = names, encoder
        self.parts: list[Counted] = []

    def _sizes(self) -> tuple[int, ...]:
        return tuple(self.encoder.size(n) for n in self.names)

    @staticmethod
    def _count(codes: np.ndarray | list[np.ndarray], sizes: tuple[int, ...],
               weights: np.ndarray | None) -> Counted:
        """Distinct tuples of one chunk and their (weighted) counts.

        Rows are packed into one integer key: ``np.unique`` with counts on 1M keys took
        0.01-0.02 s here, against 0.13-0.24 s for pyarrow's hash group-by or value_counts
        when nearly every key is distinct (as in a file with k = 1).
        """
        n = len(codes[0]) if isinstance(codes, list) else len(codes)
        if _fits_one_key(list(sizes)):
            if n == 0:
                return Counted(np.zeros(0, dtype=np.int64), None,
                               np.zeros(0, dtype=np.int64), sizes)
            key = _keys(codes, list(sizes))
            if weights is None:
                uniq, counts = np.unique(key, return_counts=True)
            else:
                uniq, inverse = np.unique(key, return_inverse=True)
                counts = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
            return Counted(uniq, None, counts.astype(np.int64), sizes)
        rows, counts = Counter._unique_rows(
            np.column_stack(codes) if isinstance(codes, list) else codes, weights)
        return Counted(None, rows, counts, sizes)

    @staticmethod
    def _unique_rows(matrix: np.ndarray, weights: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Too many combinations for one integer key: sort the tuples themselves."""
        if len(matrix) == 0:
            return matrix.reshape(0, matrix.shape[1]), np.zeros(0, dtype=np.int64)
        rows, inverse = np.unique(matrix, axis=0, return_inverse=True)
        merged = np.bincount(inverse.ravel(), weights=weights, minlength=len(rows))
        return rows, merged.astype(np.int64)

    @staticmethod
    def _unique(codes: np.ndarray | list[np.ndarray], sizes: list[int],
                weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Distinct rows of a code matrix and their (weighted) counts, as a matrix."""
        counted = Counter._count(codes, tuple(sizes), weights)
        return counted.matrix(), counted.counts

    def add_codes(self, codes: np.ndarray | list[np.ndarray],
                  weights: np.ndarray | None = None) -> None:
        self.parts.append(self._count(codes, self._sizes(), weights))
        if len(self.parts) > self.MERGE_PARTS:
            self.parts = [self.counted()]

    def add(self, columns: list[pa.ChunkedArray | pa.Array], weights: np.ndarray | None = None
            ) -> None:
        self.add_codes([self.encoder.encode(n, c) for n, c in
                        zip(self.names, columns, strict=True)], weights)

    def counted(self) -> Counted:
        """Every part merged: distinct tuples in sorted order and their counts."""
        sizes = self._sizes()
        if not self.parts:
            return self._count([np.zeros(0, dtype=np.int64) for _ in self.names], sizes, None)
        if len(self.parts) == 1 and self.parts[0].sizes == sizes:
            return self.parts[0]
        if _fits_one_key(list(sizes)):  # sizes only grow: every part fitted too
            keys = np.concatenate([_rekey(p.keys, p.sizes, sizes) for p in self.parts
                                   if p.keys is not None])
            counts = np.concatenate([p.counts for p in self.parts])
            self.parts = []  # the parts are copied: let them go before sorting
            order = np.argsort(keys, kind="stable")
            keys = keys[order]
            counts = counts[order]
            del order
            new = np.ones(len(keys), dtype=bool)
            new[1:] = keys[1:] != keys[:-1]
            starts = np.flatnonzero(new)
            merged = Counted(keys[starts], None, np.add.reduceat(counts, starts)
                             if len(starts) else counts, sizes)
        else:
            matrix = np.concatenate([p.matrix() for p in self.parts])
            counts = np.concatenate([p.counts for p in self.parts])
            self.parts = []
            rows, total = self._unique_rows(matrix, counts)
            merged = Counted(None, rows, total, sizes)
        self.parts = [merged]
        return merged

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct code rows in sorted (lexicographic) order, and their counts."""
        counted = self.counted()
        return counted.matrix(), counted.counts


def classes_from_pairs(pairs: np.ndarray, counts: np.ndarray, q: int, sizes: list[int]
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(class codes, class sizes, distinct sensitive values per class) from counted pairs.

    ``pairs`` are the distinct (quasi-identifiers..., sensitive) code rows that
    :meth:`Counter.result` returns in sorted order, so each class is one run of rows with
    the same first ``q`` codes: its size is the sum of the run's counts and its l-diversity
    the run's length. This replaces a second group-by over every row.
    """
    if len(pairs) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return pairs[:, :q], empty, empty
    prefix = pairs[:, :q]
    new = np.ones(len(pairs), dtype=bool)
    if _fits_one_key(sizes):
        key = _keys(prefix, sizes)
        new[1:] = key[1:] != key[:-1]
    else:
        new[1:] = np.any(prefix[1:] != prefix[:-1], axis=1)
    starts = np.flatnonzero(new)
    return (prefix[starts], np.add.reduceat(counts, starts),
            np.diff(np.append(starts, len(pairs))))


def rows_in(rows: np.ndarray, wanted: np.ndarray, sizes: list[int]) -> np.ndarray:
    """Which rows of a code matrix appear in another (exact)."""
    if len(wanted) == 0:
        return np.zeros(len(rows), dtype=bool)
    if _fits_one_key(sizes):
        return np.isin(_keys(rows, sizes), _keys(wanted, sizes))
    dtype = np.dtype([(f"c{i}", np.int64) for i in range(rows.shape[1])])
    a = np.ascontiguousarray(rows).view(dtype).ravel()
    b = np.ascontiguousarray(wanted).view(dtype).ravel()
    return np.isin(a, b)


def class_sizes(table: pa.Table, quasi: list[str], weight: str | None = None) -> np.ndarray:
    """Size of every equivalence class over ``quasi`` (weighted by a count column if given).

    The same group-by the scan runs; exposed for notebooks and the benchmark. k-anonymity is
    ``class_sizes(...).min()``.
    """
    counter = Counter(quasi, Encoder())
    weights = None
    if weight is not None:
        weights = pc.fill_null(parse_counts(table.column(weight).cast(pa.string())), 0
                               ).to_numpy()
    counter.add([table.column(c).cast(pa.string()) for c in quasi], weights)
    sizes = counter.result()[1]
    return sizes[sizes > 0]
