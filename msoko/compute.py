"""``msoko compute``: every indicator, the objectivity diagnostics and the management cycle.

Reads the processed tables (any may be missing: the indicators that need them are
reported as not computable, with the reason in Russian), writes beside them:

- ``indicators.parquet`` and ``indicator_catalogue.csv`` (the catalogue plus
  ``computed`` and ``note_ru`` columns);
- ``objectivity.parquet`` (msoko.objectivity, when that module is available);
- ``shnor_list.parquet``, ``shnor_procedures.parquet``, ``risk_profile.parquet``,
  ``context_metrics.parquet``, ``principal_components.parquet`` — the details behind
  system 2 and 5 indicators;
- ``cycle_systems.parquet``, ``cycle_targets.parquet``, ``cycle_monitoring.parquet``,
  ``cycle_analysis.parquet``, ``recommendations.parquet``, ``effectiveness.parquet`` —
  the management cycle, so that reports never recompute.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from msoko.config import load_config
from msoko.cycle import SYSTEM_NAMES, management_cycle
from msoko.errors import MsokoError
from msoko.indicators import compute_indicators, load_catalogue
from msoko.store import read_table, table_path, write_table

INPUT_TABLES = ["vpr", "vpr_tasks", "task_specs", "schools", "contingent", "context", "gia", "olympiad",
                "addedu", "career", "leavers", "principals", "teachers", "upbringing", "mkdo", "preschool",
                "surveys", "measures"]


@dataclass
class ComputeResult:
    outputs: dict[str, Path] = field(default_factory=dict)
    notes: pd.DataFrame | None = None
    seconds: float = 0.0


def load_tables(processed_dir: str | Path) -> dict[str, pd.DataFrame | None]:
    """Every input table that exists (``None`` for a missing or empty one)."""
    out = {}
    for name in INPUT_TABLES:
        df = read_table(processed_dir, name, missing_ok=True)
        out[name] = df if df is not None and len(df) else None
    return out


def _objectivity(tables, config, say):
    try:
        from msoko.objectivity import compute_objectivity
    except ImportError:
        say("Диагностика объективности: модуль ещё не установлен — пропущено.")
        return None
    if tables.get("vpr") is None:
        say("Диагностика объективности: нет результатов ВПР — пропущено.")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return compute_objectivity({k: v for k, v in tables.items() if v is not None}, config)
    except MsokoError as exc:
        say(f"Диагностика объективности не выполнена: {exc}")
        return None
    except Exception as exc:  # noqa: BLE001 - the indicators must still be written
        say(f"Диагностика объективности не выполнена: {type(exc).__name__}: {exc}")
        return None


def compute(processed_dir: str | Path = "data/processed", config_path: str | Path | None = None, *,
            verbose: bool = True) -> ComputeResult:
    """Compute everything from ``processed_dir`` and write the results into it."""
    t0 = time.perf_counter()
    say = print if verbose else (lambda *a, **k: None)
    processed = Path(processed_dir)
    if not processed.is_dir():
        raise MsokoError(f"Папка обработанных данных «{processed}» не найдена. "
                         "Сначала выполните: msoko ingest --raw <папка> --processed <папка>.")
    config = load_config(config_path)
    tables = load_tables(processed)
    present = [n for n, d in tables.items() if d is not None]
    if not present:
        raise MsokoError(f"В папке «{processed}» нет обработанных таблиц. "
                         "Сначала выполните: msoko ingest --raw <папка> --processed <папка>.")
    say(f"Загружены таблицы: {', '.join(present)}.")
    missing = [n for n, d in tables.items() if d is None]
    if missing:
        say(f"Нет данных (показатели по ним не рассчитываются): {', '.join(missing)}.")
    result = ComputeResult()

    say("Диагностика объективности…")
    t = time.perf_counter()
    obj = _objectivity(tables, config, say)
    if obj is not None:
        result.outputs["objectivity"] = write_table(obj, processed, "objectivity")
        say(f"  objectivity.parquet: {len(obj)} строк ({time.perf_counter() - t:.1f} с)")

    say("Показатели восьми систем…")
    t = time.perf_counter()
    res = compute_indicators(tables, config, objectivity=obj, progress=say if verbose else None)
    result.outputs["indicators"] = write_table(res.indicators, processed, "indicators")
    cat = load_catalogue()
    notes = res.notes.set_index("indicator")["reason"]
    cat["computed"] = ~cat["code"].isin(notes.index)
    cat["note_ru"] = cat["code"].map(notes.to_dict()).astype(object).where(lambda x: x.notna(), "")
    cat_path = processed / "indicator_catalogue.csv"
    cat.to_csv(cat_path, index=False, encoding="utf-8-sig")
    result.outputs["indicator_catalogue"] = cat_path
    for name, key in (("shnor_list", "shnor"), ("shnor_procedures", "shnor_procedures"),
                      ("risk_profile", "risk_profile"), ("context_metrics", "context"),
                      ("principal_components", "principal_components")):
        df = res.details.get(key)
        if df is not None:
            result.outputs[name] = write_table(df.reset_index(drop=True), processed, name)
    say(f"  indicators.parquet: {res.summary()} ({time.perf_counter() - t:.1f} с)")
    if len(res.notes):
        for system, part in res.notes.groupby("system"):
            say(f"  система {system}: не рассчитано — "
                + "; ".join(f"{r.indicator} ({r.reason})" for r in part.itertuples()))

    say("Управленческий цикл: анализ, рекомендации, эффективность мер…")
    t = time.perf_counter()
    cycles = management_cycle(res.indicators, cat, config, measures=tables.get("measures"), meta=res.meta,
                              notes=res.notes)
    systems = pd.DataFrame([{"system": s, "name": c.name, "goal": c.goal, "tasks": "\n".join(c.tasks),
                             "indicators": len(c.indicators), "not_computed": len(c.not_computed),
                             "findings": len(c.analysis), "recommendations": len(c.recommendations),
                             "measures_assessed": len(c.effectiveness)} for s, c in cycles.items()])
    outputs = {
        "cycle_systems": systems,
        "cycle_targets": pd.concat([c.targets for c in cycles.values()], ignore_index=True),
        "cycle_monitoring": pd.concat([c.monitoring for c in cycles.values()], ignore_index=True),
        "cycle_analysis": pd.concat([c.analysis for c in cycles.values()], ignore_index=True),
        "recommendations": pd.concat([c.recommendations for c in cycles.values()], ignore_index=True),
        "effectiveness": _effectiveness_all(cycles),
    }
    for name, df in outputs.items():
        result.outputs[name] = write_table(df, processed, name)
    say(f"  цикл рассчитан ({time.perf_counter() - t:.1f} с): "
        f"зон внимания {len(outputs['cycle_analysis'])}, рекомендаций {len(outputs['recommendations'])}, "
        f"мер оценено {len(outputs['effectiveness'])}")
    for s, c in cycles.items():
        say(f"    {s}. {SYSTEM_NAMES[s][:60]}…: зон внимания {len(c.analysis)}, "
            f"рекомендаций {len(c.recommendations)}")
    result.notes = res.notes
    result.seconds = time.perf_counter() - t0
    say(f"Готово за {result.seconds:.1f} с. Результаты в «{processed}».")
    return result


def _effectiveness_all(cycles) -> pd.DataFrame:
    parts = [c.effectiveness for c in cycles.values() if len(c.effectiveness)]
    if not parts:
        return next(iter(cycles.values())).effectiveness.iloc[0:0]
    return pd.concat(parts, ignore_index=True).drop_duplicates(
        subset=["year", "school_id", "indicator", "measure"]).reset_index(drop=True)


__all__ = ["compute", "load_tables", "ComputeResult", "table_path"]
