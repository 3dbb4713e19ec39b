"""Kept for imports written before the split: table reading lives in lcopia.evidence.tables."""

import sys

from lcopia.evidence import tables as _tables

sys.modules[__name__] = _tables
