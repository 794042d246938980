"""Export simulator: writes a landing folder that looks like what the platforms and dealers deliver.

Every source of the input contract (shared/contracts/sources.md, ``matrix_pulse.sources``)
is written in its real format, with the real-world mess injected at a configurable rate,
plus ``_manifest.json``: the ground truth the ingest and the marts are tested against
(docs/interfaces.md, section 2).
"""

from .run import simulate

__all__ = ["simulate"]
