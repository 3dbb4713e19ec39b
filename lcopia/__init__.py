"""lcopia: privacy impact assessment of a library's records against its confidentiality policy."""

from lcopia.errors import EvidenceError, InventoryError, LcopiaError, RunError

__version__ = "0.1.0"
__all__ = ["EvidenceError", "InventoryError", "LcopiaError", "RunError", "__version__"]
