"""The results table printed at the end, and the JSON file under bench/results/."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    scenario: str
    concurrency: str
    throughput: float
    unit: str
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    baseline_name: str = ""
    baseline: float = math.nan
    note: str = ""

    @property
    def ratio(self) -> float:
        if not self.baseline or math.isnan(self.baseline):
            return math.nan
        return self.throughput / self.baseline


def row_from_latency(scenario: str, concurrency: int | str, throughput: float, unit: str,
                     latency: dict[str, Any], baseline_name: str = "", baseline: float = math.nan,
                     note: str = "") -> Row:
    return Row(scenario, str(concurrency), throughput, unit, latency.get("p50_ms", math.nan),
               latency.get("p95_ms", math.nan), latency.get("p99_ms", math.nan), baseline_name,
               baseline, note)


def _number(value: float, digits: int = 1) -> str:
    if math.isnan(value):
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


HEADERS = ("scenario", "conc", "throughput", "p50 ms", "p95 ms", "p99 ms", "baseline", "ratio", "note")


def table(rows: list[Row]) -> str:
    """A markdown table, readable in a terminal and pasteable into a README."""
    lines = [[row.scenario, row.concurrency, f"{_number(row.throughput)} {row.unit}", _number(row.p50_ms, 2),
              _number(row.p95_ms, 2), _number(row.p99_ms, 2),
              f"{_number(row.baseline)} ({row.baseline_name})" if row.baseline_name else "-",
              "-" if math.isnan(row.ratio) else f"{row.ratio:.2f}", row.note] for row in rows]
    return markdown(HEADERS, lines)


def markdown(headers: tuple[str, ...], lines: list[list[str]]) -> str:
    """Cells padded to their column's width."""
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]

    def render(cells: list[str] | tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return "\n".join([render(headers), render(["-" * w for w in widths]), *map(render, lines)])


def _plain(value: Any) -> Any:
    """JSON has no NaN: missing figures become null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def write_json(rows: list[Row], details: dict[str, Any], path: Path | None = None) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = path or RESULTS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {"rows": [asdict(row) | {"ratio": row.ratio} for row in rows], **details}
    path.write_text(json.dumps(_plain(document), indent=2, default=str))
    return path
