"""msoko — муниципальная система оценки качества образования.

A small tested library behind the МСОКО reports: load and validate raw data
(:mod:`msoko.ingest`), generate the demo municipality (:mod:`msoko.demo`),
compute indicators (:mod:`msoko.indicators`) and objectivity diagnostics
(:mod:`msoko.objectivity`), draw charts (:mod:`msoko.plots`), build reports
(:mod:`msoko.report`, :mod:`msoko.export`) and run the annual pipeline
(:mod:`msoko.runner`).
"""

__version__ = "0.1.0"


def open(processed_dir="data/processed", config=None):  # noqa: A001 - the analyst's entry point
    """Open processed data for exploration: see :func:`msoko.api.open`."""
    from msoko.api import open as _open

    return _open(processed_dir, config)
