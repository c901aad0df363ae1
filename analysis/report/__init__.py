"""The reports: how results are shown, and how the notebooks become offline HTML, slides and PowerPoint.

Modules:
    display     -- the one display layer: names, colours per strategy, the table formatter
    tables      -- tables as the reports show them (missing values in words)
    plots       -- plotting functions (presentation only)
    notebook    -- small helpers the notebooks share
    what_if     -- the live what-if: the decision again on each change of a cost or limit
    pptx_deck   -- the slide decks as PowerPoint
    build       -- execute the notebooks and render HTML reports, slides and PowerPoint
    templates/  -- the offline nbconvert templates (JupyterLab HTML, reveal.js)
"""

__all__: list[str] = []
