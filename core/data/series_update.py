"""What a fetch or an import did to a series, in the shape the CLI and the pages report."""

from __future__ import annotations

from dataclasses import dataclass

from core.data.csv_layout import CsvFormat
from core.data.store import SeriesSummary


@dataclass(frozen=True)
class SeriesUpdate:
    summary: SeriesSummary
    written: int
    source: str
    stale: bool = False  # the provider failed and the stored bars are what we have
    cached: bool = False  # fetched recently enough that the provider was not asked again
    message: str | None = None
    used_as_stored: bool = False  # a refresh asked nobody: the series is an imported file
    live: bool = False  # the bars were just fetched from a live provider
    format: CsvFormat | None = None  # the export an import detected
    warnings: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        out = self.summary.as_json()
        out.update(written=self.written, source=self.source, stale=self.stale, cached=self.cached)
        out.update(used_as_stored=self.used_as_stored, live=self.live, warnings=list(self.warnings))
        if self.format is not None:
            out.update(format=self.format.name, format_title=self.format.title)
        if self.message:
            out["message"] = self.message
        return out
