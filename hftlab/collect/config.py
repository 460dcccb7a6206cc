"""The collector's section (`collect:`): duration, recording, bars."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hftlab.core.config import Section


class CollectConfig(Section):
    duration_s: float = Field(60.0, gt=0)
    record_dir: Path | None = Field(None, description="default <system.data_dir>/recordings")
    record_raw: bool = True
    flush_interval_s: float = Field(5.0, gt=0, le=3600)
    rotate_rows: int = Field(500_000, ge=1000)
    rotate_s: float = Field(300.0, gt=0, description="finish a Parquet file this old (bounds loss on SIGKILL)")
    bar_grace_ms: int = Field(2000, ge=0, description="close a bar this long after its end by the exchange clock")
    fill_empty_bars: bool = False
    progress_interval_s: float = Field(5.0, gt=0)
