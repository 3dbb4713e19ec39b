"""Kept for imports written before the split: the detectors live in lcopia.evidence.detectors."""

import sys

from lcopia.evidence import detectors as _detectors

sys.modules[__name__] = _detectors
