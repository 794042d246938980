"""Audiences of the pack, read from config/audiences.yaml (or MP_AUDIENCES_FILE)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matrix_pulse.settings import get_settings

REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")


@dataclass(frozen=True)
class Audience:
    id: str
    name: str
    scope: str  # national | region
    recipients: tuple[str, ...]
    region: str | None = None

    @property
    def is_national(self) -> bool:
        return self.scope == "national"


@dataclass(frozen=True)
class GateConfig:
    max_missing_source_day_rate: float = 0.05
    block_on_critical_gx: bool = True


@dataclass(frozen=True)
class PackConfig:
    # Creator ROI rows (one per creator and campaign) the PDF prints, by cost, highest first.
    # The full list (~2,000 rows nationally, ~50 A4 pages) is no review, and laying it out
    # was most of a pack's build time; the XLSX always holds every row.
    creator_rows_in_pdf: int = 30


@dataclass(frozen=True)
class ReportConfig:
    audiences: tuple[Audience, ...]
    gate: GateConfig
    pack: PackConfig = PackConfig()

    def audience(self, audience_id: str) -> Audience:
        for a in self.audiences:
            if a.id == audience_id:
                return a
        raise KeyError(f"audience {audience_id!r} is not in the audiences file")


def audiences_path() -> Path:
    return get_settings().audiences_file


def load_config(path: Path | None = None) -> ReportConfig:
    """Parse and validate the audiences file; errors name the file and the entry."""
    import yaml

    path = path or audiences_path()
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    audiences: list[Audience] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw.get("audiences") or [], start=1):
        where = f"{path}: audiences[{i}]"
        aid = str(entry.get("id", ""))
        if not aid.isascii() or not aid or aid in seen:
            raise ValueError(f"{where}: id {aid!r} must be a unique non-empty ASCII name")
        scope = entry.get("scope")
        region = entry.get("region")
        if scope not in ("national", "region"):
            raise ValueError(f"{where} ({aid}): scope must be 'national' or 'region', found {scope!r}")
        if scope == "region" and region not in REGIONS:
            raise ValueError(f"{where} ({aid}): region must be one of {REGIONS}, found {region!r}")
        recipients = tuple(str(r).strip() for r in entry.get("recipients") or [])
        if not recipients or any("@" not in r for r in recipients):
            raise ValueError(f"{where} ({aid}): recipients must be a non-empty list of e-mail addresses")
        seen.add(aid)
        audiences.append(Audience(aid, str(entry.get("name", aid)), scope, recipients, region))
    gate_raw = raw.get("quality_gate") or {}
    rate = get_settings().gate_max_missing_rate
    rate = float(gate_raw.get("max_missing_source_day_rate", 0.05) if rate is None else rate)
    gate = GateConfig(rate, bool(gate_raw.get("block_on_critical_gx", True)))
    pack_raw = raw.get("pack") or {}
    rows = pack_raw.get("creator_rows_in_pdf", PackConfig.creator_rows_in_pdf)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise ValueError(f"{path}: pack.creator_rows_in_pdf must be a whole number >= 1, found {rows!r}")
    return ReportConfig(tuple(audiences), gate, PackConfig(rows))
