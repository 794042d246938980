"""Ingest: landed files -> DuckDB raw/meta tables (docs/interfaces.md section 3).

Entry points (all take ``matrix_pulse.settings.Settings``):

- ``run_ingest(settings, sources=None)``: load every landed file not loaded yet.
- ``run_quality(settings)``: Great Expectations suites on newly loaded files (imports GX lazily).
- ``refresh_freshness(settings)``: rebuild ``meta.source_freshness``.
"""

from __future__ import annotations

from matrix_pulse.ingest.freshness import FreshnessReport, refresh_freshness
from matrix_pulse.ingest.loader import run_ingest
from matrix_pulse.ingest.summary import FileOutcome, IngestSummary

__all__ = ["FileOutcome", "FreshnessReport", "IngestSummary", "refresh_freshness", "run_ingest"]
