"""How many image pixels the report figures hold per pixel they are shown at.

Its own small module (no matplotlib) so that the build can read it without
importing the plotting stack; :mod:`analysis.report.plots` draws with it.
"""

from __future__ import annotations

import os

__all__ = ["PIXEL_DENSITY", "DRAFT_DENSITY", "DENSITY_VARIABLE", "figure_density"]

#: Figures are drawn at this many times ``savefig.dpi`` and shown at their size at ``savefig.dpi`` (as Jupyter's
#: "retina" format does): sharp on high-density screens and, in the PowerPoint decks (96 deck pixels to the
#: inch), 240 dots per inch.
PIXEL_DENSITY = 2.5
#: The density of a draft build (``python -m analysis build --draft``): one image pixel per screen pixel.
DRAFT_DENSITY = 1.0
#: The environment variable through which a build asks its kernels for another density (a number from 1 to 4).
DENSITY_VARIABLE = "ANALYSIS_FIGURE_DENSITY"


def figure_density() -> float:
    """The density figures are drawn at: :data:`PIXEL_DENSITY`, or the one a build set in :data:`DENSITY_VARIABLE`.

    >>> figure_density() == PIXEL_DENSITY  # (no build asked for another)
    True
    """
    try:
        value = float(os.environ.get(DENSITY_VARIABLE, ""))
    except ValueError:
        return PIXEL_DENSITY
    return value if 1 <= value <= 4 else PIXEL_DENSITY
