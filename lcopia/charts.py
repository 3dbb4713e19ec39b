"""Kept so ``from lcopia import charts`` still works: the charts live in lcopia.report.charts."""

from lcopia.report.charts import (
    Chart,
    band_of,
    band_styles,
    luminance,
    mpl_text,
    risk_map,
    system_risk,
)

__all__ = ["Chart", "band_of", "band_styles", "luminance", "mpl_text", "risk_map",
           "system_risk"]
