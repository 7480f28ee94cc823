"""``msoko compute``: every indicator, the objectivity diagnostics and the management cycle.

Reads the processed tables (any may be missing: the indicators that need them are
reported as not computable, with the reason in Russian), writes beside them:

- ``indicators.parquet`` and ``indicator_catalogue.csv`` (the catalogue plus
  ``computed`` and ``note_ru`` columns);
- ``objectivity.parquet`` (msoko.objectivity, when that module is available);
- ``objectivity_calibration_years``, ``objectivity_pvalue_bins``, ``objectivity_flag_rates`` — the
  calibration section's pictures per year (msoko.objectivity.calibration.calibration_pictures);
- ``objectivity_calibration.parquet`` — per sign, the share of p < 0.001 / 0.01 against nominal
  (a warning in the output and the log when a sign is over 5× nominal at 0.001);
- ``objectivity_evidence.parquet`` — the picture data (score counts with the bunching expectation,
  mean intervals) of the works with a flagged official sign or ``combined``, drawn by the reports;
- ``objectivity_plan.parquet`` — the plan of work on objectivity, tiered by evidence with
  school-level error control (msoko.objectivity.plan); the priorities, the recommendations and the
  principal's composite read it; ``objectivity_plan_notes.parquet`` — the schools with flagged signs
  but no school-level finding (information beside the plan, never acted on);
- ``shnor_list.parquet``, ``shnor_procedures.parquet``, ``risk_profile.parquet``,
  ``context_metrics.parquet``, ``principal_components.parquet`` — the details behind
  system 2 and 5 indicators;
- ``cycle_systems.parquet``, ``cycle_targets.parquet``, ``cycle_monitoring.parquet``,
  ``cycle_analysis.parquet``, ``recommendations.parquet``, ``effectiveness.parquet`` —
  the management cycle, so that reports never recompute; ``priorities.parquet`` — the
  attention zones of each school ranked (msoko.priorities);
- ``vpr_works.parquet``, ``vpr_score_counts.parquet`` — each ВПР work's maximum and mark
  boundaries as the export applied them, and the score distributions per school and municipality
  (msoko.vpr_views), which the reports draw;
- ``textbook_use.parquet``, ``textbook_results.parquet`` — pupils per textbook (УМК) of each work and their
  results against the municipality (msoko.textbooks);
- ``org_scope.parquet``, ``municipalities_summary.parquet``, ``reject_findings.parquet`` — which
  organisations are schools of a municipality, the objectivity index and ШНОР per municipality, rejected
  rows concentrated on one school × work (msoko.municipalities);
- ``config_used.json`` — the merged configuration this run used (built-in defaults with the
  user's file over them); the reports read their thresholds and rules from it and from no other copy;
- ``compute_log.csv`` — what did not work: ``step, item, scope, level, message_ru``. Level
  «ошибка» is a step of msoko that failed (a sign, a group of indicators, the cycle): the
  run names it, the other results are still written, ``ComputeResult.failures`` lists it
  and ``msoko compute`` exits with code 1. Level «предупреждение» is something skipped
  for lack of data (an indicator without its table, the diagnostics without ВПР).
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from msoko import ru
from msoko.config import load_config, write_used_config
from msoko.cycle import management_cycle, system_status
from msoko.skills import task_skills
from msoko.vocabulary import SYSTEM_NAMES
from msoko.errors import MsokoError
from msoko.indicators import compute_indicators, load_catalogue
from msoko.outputs import OutputSchemaError
from msoko.outputs import validate as validate_output
from msoko.store import (SLICE_COLUMN, SLICED_TABLES, read_table, row_municipality, table_path, write_csv,
                         write_table)

INPUT_TABLES = ["vpr", "vpr_tasks", "task_specs", "schools", "contingent", "context",
                "context_questionnaire", "vpr_textbooks", "gia", "olympiad",
                "addedu", "career", "leavers", "principals", "teachers", "upbringing", "mkdo", "preschool",
                "surveys", "measures", "recheck", "observers", "visits", "medals"]


LOG_NAME = "compute_log.csv"
LOG_COLUMNS = ["step", "item", "scope", "level", "message_ru"]
ERROR, WARNING = "ошибка", "предупреждение"
CYCLE_OUTPUTS = ("cycle_systems", "cycle_targets", "cycle_monitoring", "cycle_analysis", "recommendations",
                 "effectiveness", "system_status", "priorities", "first_screen")


@dataclass
class ComputeResult:
    outputs: dict[str, Path] = field(default_factory=dict)
    notes: pd.DataFrame | None = None
    seconds: float = 0.0
    # the rows of compute_log.csv with level «ошибка»: steps of msoko that failed
    failures: list[dict] = field(default_factory=list)
    log: pd.DataFrame | None = None  # compute_log.csv

    @property
    def ok(self) -> bool:
        return not self.failures


def _row(step: str, item: str, scope: str, level: str, message: str) -> dict:
    return {"step": step, "item": item, "scope": scope, "level": level, "message_ru": message}


def _describe(exc: BaseException) -> str:
    """An exception in Russian: a MsokoError is the user's to fix; anything else is msoko's own error."""
    if isinstance(exc, MsokoError):
        return str(exc).rstrip(".")
    return f"внутренняя ошибка msoko ({type(exc).__name__}: {exc})"


# string columns read as categoricals (Arrow dictionaries: an integer code per row): the long task table of a
# region (28 million pupil × task rows for 600 schools in 3 years) took 2.2 GB with its four string columns as
# strings and 0.5 GB so, and was read 4× faster; its consumers (msoko.indicators._tasks, the TaskMatrix of
# msoko.objectivity.evidence, msoko.objectivity.calibration.tasks_per_test) give their outputs in the same
# dtypes either way
CATEGORICAL_COLUMNS = {"vpr_tasks": ["subject", "school_id", "student_code", "task"]}


def load_tables(processed_dir: str | Path) -> dict[str, pd.DataFrame | None]:
    """Every input table that exists (``None`` for a missing or empty one); the columns of
    :data:`CATEGORICAL_COLUMNS` as categoricals."""
    out = {}
    for name in INPUT_TABLES:
        df = read_table(processed_dir, name, missing_ok=True, categories=CATEGORICAL_COLUMNS.get(name))
        out[name] = df if df is not None and len(df) else None
    return out


def _objectivity(tables, config, say, log):
    """The objectivity frame (or None); every sign that failed and every skip goes into ``log``."""
    try:
        from msoko import objectivity as objectivity_module
        from msoko.objectivity import run_objectivity
    except ImportError as exc:
        message = f"Диагностика объективности пропущена: модуль не загружается ({type(exc).__name__}: {exc})."
        say(message)
        log.append(_row("objectivity", "*", "объективность", ERROR, message))
        return None
    if tables.get("vpr") is None:
        message = "Диагностика объективности: нет результатов ВПР — пропущено."
        say(message)
        log.append(_row("objectivity", "*", "объективность", WARNING, message))
        return None
    try:
        with warnings.catch_warnings():
            # the failures are reported from the result below, not as warnings
            warnings.simplefilter("ignore", RuntimeWarning)
            res = run_objectivity({k: v for k, v in tables.items() if v is not None}, config)
    except Exception as exc:  # noqa: BLE001 - the indicators must still be written
        message = f"Диагностика объективности не выполнена: {_describe(exc)}."
        say(message)
        log.append(_row("objectivity", "*", "объективность", ERROR, message))
        return None
    obj = res.frame
    for f in res.failures:
        say(f"  ОШИБКА: {f['message_ru']}")
        for sign in f["signs"]:
            log.append(_row("objectivity", sign, "объективность", ERROR, f["message_ru"]))
    # calibration check: a sign far above its nominal share of small p-values is said so
    try:
        calibration = objectivity_module.calibration_warnings(objectivity_module.calibration_table(obj))
    except Exception as exc:  # noqa: BLE001 - the signs themselves are still written
        calibration = [("*", f"Проверка калибровки признаков не выполнена: {_describe(exc)}.")]
    for sign, message in calibration:
        say(f"  ПРЕДУПРЕЖДЕНИЕ: {message}")
        log.append(_row("objectivity", sign, "объективность", WARNING, message))
    return obj


def _remove_stale(processed: Path, names, say) -> None:
    """A step that produced nothing this time must not leave last run's table for the reports."""
    for name in names:
        path = table_path(processed, name)
        if path.exists():
            path.unlink()
            say(f"  удалена устаревшая таблица {path.name} (в этом расчёте она не построена)")


def _write_log(processed: Path, log: list[dict]) -> tuple[Path, pd.DataFrame]:
    df = pd.DataFrame(log, columns=LOG_COLUMNS)
    return write_csv(df, processed / LOG_NAME), df   # atomic, formula-safe (msoko.store)


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
    # the configuration used is part of the processed data: the reports read it, not their own copy
    result.outputs["config_used"] = write_used_config(config, processed)
    log: list[dict] = []
    try:
        _compute_all(processed, config, tables, result, log, say, verbose)
    except Exception as exc:
        # a step outside the guarded ones: logged, then the CLI reports it without a traceback
        log.append(_row("compute", "*", "расчёт", ERROR, f"Расчёт прерван: {_describe(exc)}."))
        raise
    finally:
        result.outputs["compute_log"], result.log = _write_log(processed, log)
    result.failures = [r for r in log if r["level"] == ERROR]
    result.seconds = time.perf_counter() - t0
    if result.failures:
        items = sorted({f"{r['item']}" for r in result.failures if r["item"] != "*"})
        steps = sorted({r["step"] for r in result.failures})
        say(f"Расчёт завершён с ошибками за {result.seconds:.1f} с: не выполнено — "
            f"{', '.join(items) if items else ', '.join(steps)} (шаги: {', '.join(steps)}). "
            f"Остальные результаты записаны в «{processed}»; подробности — {LOG_NAME}.")
    else:
        say(f"Готово за {result.seconds:.1f} с. Результаты в «{processed}».")
    return result


def _write(df: pd.DataFrame, processed: Path, name: str, log: list[dict] | None = None, say=None,
           step: str = "output") -> Path | None:
    """Write an output table once it keeps its declared schema (msoko.outputs; a breach is msoko's bug).

    With ``log`` a breach is named (``say``) and logged as an error of ``step``, the last good table
    is removed (reports must not show last run's table as current) and None is returned, so that the
    other outputs are still written.

    A table the reports read by municipality (:data:`msoko.store.SLICED_TABLES`) gets the municipality
    of each row from the registry when it has none of its own (:func:`msoko.store.row_municipality`)."""
    if name in SLICED_TABLES and SLICE_COLUMN not in df and "school_id" in df:
        df = df.assign(**{SLICE_COLUMN: row_municipality(df, read_table(processed, "schools", missing_ok=True))})
    if log is None:
        return write_table(validate_output(name, df), processed, name)
    try:
        checked = validate_output(name, df)
    except OutputSchemaError as exc:
        message = f"Таблица {name}.parquet не записана: {str(exc).rstrip('.')}."
        if say is not None:
            say(f"  ОШИБКА: {message}")
        log.append(_row(step, name, "выходные таблицы", ERROR, message))
        _remove_stale(processed, [name], say or (lambda *a, **k: None))
        return None
    return write_table(checked, processed, name)


def _tables_step(names: list[str], build, processed: Path, result, log, say, what_ru: str,
                 step: tuple[str, str] = ("objectivity", "объективность")) -> dict | None:
    """Write the frames ``build()`` returns (name → frame, in the order of ``names``). ``build`` returning None
    means «no input»: the previous outputs are removed. A failure is named and logged under ``step`` (code,
    Russian topic); the previous outputs are removed too (no stale table is shown as current) and the rest of
    compute goes on."""
    try:
        frames = build()
    except Exception as exc:  # noqa: BLE001 - one step must not stop the others
        message = f"{what_ru} не рассчитано: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row(step[0], names[0], step[1], ERROR, message))
        frames = None
    if frames is None:
        _remove_stale(processed, names, say)
        return None
    for name in names:
        path = _write(frames[name], processed, name, log, say, step[0])
        if path is not None:
            result.outputs[name] = path
    return frames


def _textbooks(tables, config, processed: Path, result, log, say) -> None:
    """Textbooks (УМК) in use per work with pupil counts (``textbook_use``) and results by textbook against the
    municipality (``textbook_results``); each table a step of its own."""
    books = tables.get("vpr_textbooks")
    info = config.get("informativeness") or {}

    def use():
        from msoko.textbooks import textbook_use
        return None if books is None else {"textbook_use": textbook_use(books, tables.get("schools"))}

    def results():
        from msoko.textbooks import textbook_results
        return None if books is None else {"textbook_results": textbook_results(
            tables.get("vpr"), books, tables.get("schools"), suppress_below=int(info.get("suppress_below", 5)))}

    _tables_step(["textbook_use"], use, processed, result, log, say, "Учебники (УМК): таблица textbook_use",
                 step=("textbooks", "учебники"))
    _tables_step(["textbook_results"], results, processed, result, log, say,
                 "Учебники (УМК): таблица textbook_results", step=("textbooks", "учебники"))


def _recheck(tables, config, obj, processed: Path, result, log, say) -> pd.DataFrame | None:
    """Re-checks of ВПР works (template ``recheck``): per school and work, and msoko's precision against them."""
    def build():
        if tables.get("recheck") is None or tables.get("vpr") is None:
            return None
        from msoko.objectivity.recheck import recheck_precision, recheck_summary, scales_from_vpr

        summary = recheck_summary(tables["recheck"], scales_from_vpr(tables["vpr"]), config)
        say(f"  перепроверка: {len(summary)} работ школ, подтверждено "
            f"{int((summary['verdict'] == 'подтверждено').sum())}")
        from msoko.objectivity.visits import visit_rows

        visits = visit_rows(tables["visits"]) if tables.get("visits") is not None else None
        return {"objectivity_recheck": summary, "objectivity_recheck_precision": recheck_precision(summary, obj, visits)}

    out = _tables_step(["objectivity_recheck", "objectivity_recheck_precision"], build, processed, result, log, say,
                       "Итоги перепроверки работ")
    return None if out is None else out["objectivity_recheck"]


def _observed(tables, config, processed: Path, result, log, say) -> pd.DataFrame | None:
    """Works written under independent observers against the same school's previous year (template ``observers``)."""
    def build():
        if tables.get("observers") is None or tables.get("vpr") is None:
            return None
        from msoko.objectivity.observed import observed_works

        df = observed_works(tables["observers"], tables["vpr"], config)
        say(f"  работы под наблюдением: {len(df)}, ниже обычного для школы "
            f"{int((df['verdict'] == 'ниже обычного для школы').sum())}")
        return {"objectivity_observed": df}

    out = _tables_step(["objectivity_observed"], build, processed, result, log, say, "Сравнение работ под наблюдением")
    return None if out is None else out["objectivity_observed"]


def _olympiad(tables, config, processed: Path, result, log, say) -> None:
    """Objectivity of the school stage of ВсОШ (template ``olympiad``): objectivity_olympiad.parquet."""
    def build():
        if tables.get("olympiad") is None:
            return None
        from msoko.objectivity.olympiad import olympiad_rows
        return {"objectivity_olympiad": olympiad_rows(tables["olympiad"], config, vpr=tables.get("vpr"),
                                                     gia=tables.get("gia"))}

    _tables_step(["objectivity_olympiad"], build, processed, result, log, say, "Объективность школьного этапа ВсОШ")


def _visits(plan, tables, processed: Path, result, log, say) -> pd.DataFrame | None:
    """Monitoring visits (template ``visits``) per school and year, with the plan's tier-1 schools not visited."""
    def build():
        if tables.get("visits") is None:
            return None
        from msoko.objectivity.visits import visit_rows, visits_by_tier

        df = visit_rows(tables["visits"], plan)
        say(f"  мониторинговые визиты: {int((df['visits'] > 0).sum())} школ × лет, с нарушениями "
            f"{int((df['finding'] == 'нарушения').sum())}")
        return {"objectivity_visits": df, "objectivity_visits_by_tier": visits_by_tier(df)}

    out = _tables_step(["objectivity_visits", "objectivity_visits_by_tier"], build, processed, result, log, say,
                       "Итоги мониторинговых визитов")
    return None if out is None else out["objectivity_visits"]


def _medals(tables, config, processed: Path, result, log, say) -> None:
    """Medal candidates' marks against their ЕГЭ/ОГЭ (template ``medals``): objectivity_medals.parquet."""
    def build():
        if tables.get("medals") is None:
            return None
        from msoko.objectivity.medals import medal_rows
        return {"objectivity_medals": medal_rows(tables["medals"], config)}

    _tables_step(["objectivity_medals"], build, processed, result, log, say,
                 "Объективность отметок претендентов на медаль")


CALIBRATION_PICTURES = ["objectivity_calibration_years", "objectivity_pvalue_bins", "objectivity_flag_rates"]


def _calibration_pictures(obj, tables, processed: Path, result, log, say) -> None:
    """The calibration section's tables per year (msoko.objectivity.calibration.calibration_pictures)."""
    def build():
        if obj is None:
            return None
        from msoko.objectivity.calibration import calibration_pictures
        return calibration_pictures(obj, tables.get("vpr_tasks"))

    _tables_step(CALIBRATION_PICTURES, build, processed, result, log, say, "Проверка калибровки по годам")


def _plan_document(plan, recheck, observed, tables, config, processed: Path, result, log, say,
                   visits=None) -> None:
    """The plan as a document (objectivity_plan_document) and last year's plan schools this year (objectivity_review)."""
    def build():
        if plan is None:
            return None
        from msoko.objectivity.plan_document import plan_document, year_review

        years = tables["vpr"]["year"].unique() if tables.get("vpr") is not None else None
        return {"objectivity_plan_document": plan_document(plan, tables.get("schools"), config),
                "objectivity_review": year_review(plan, recheck, observed, years=years, visits=visits)}

    _tables_step(["objectivity_plan_document", "objectivity_review"], build, processed, result, log, say,
                 "План работы как документ и итоги года")


def _org_scope(tables: dict, config: dict, processed: Path, result: ComputeResult, log: list[dict], say):
    """org_scope.parquet; the organisations not counted as schools of their municipality (another region,
    no municipality, not a school) lose their municipality in the tables compute uses, so that no
    municipal figure counts them (msoko.municipalities)."""
    from msoko.municipalities import org_scope
    if tables.get("schools") is None:
        _remove_stale(processed, ["org_scope"], say)
        return None
    try:
        scope = org_scope(tables["schools"], tables.get("vpr"), config)
    except Exception as exc:  # noqa: BLE001 - the rest must still be computed
        message = f"Состав школ муниципалитетов не проверен: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("municipalities", "org_scope", "муниципалитеты", ERROR, message))
        _remove_stale(processed, ["org_scope"], say)
        return None
    path = _write(scope, processed, "org_scope", log, say, "municipalities")
    if path is not None:
        result.outputs["org_scope"] = path
    odd = scope[~scope["counted"]]
    if len(odd):
        say(f"  не считаются школами муниципалитета: {len(odd)} орг. — "
            + "; ".join(f"{r.school_id} ({r.note_ru})" for r in odd.itertuples()))
        for r in odd.itertuples():
            log.append(_row("municipalities", str(r.school_id), "муниципалитеты", WARNING,
                            f"Организация {r.school_id} не считается школой муниципалитета: {r.note_ru}."))
        s = tables["schools"].copy()
        s.loc[s["school_id"].astype(str).isin(set(odd["school_id"])), "municipality"] = None
        tables["schools"] = s
    return scope


def _municipalities(tables: dict, config: dict, scope, obj, plan, shnor, processed: Path, result: ComputeResult,
                    log: list[dict], say, plan_notes=None) -> None:
    """municipalities_summary.parquet and reject_findings.parquet (msoko.municipalities)."""
    from msoko.municipalities import municipalities_summary, read_rejects, reject_findings
    from msoko.objectivity.core import OFFICIAL_SIGNS
    frames = {}
    try:
        if scope is not None:
            frames["municipalities_summary"] = municipalities_summary(
                scope, tables["schools"], tables.get("vpr"), obj, shnor, OFFICIAL_SIGNS, config, plan, plan_notes)
        frames["reject_findings"] = reject_findings(read_rejects(processed), tables.get("vpr"), config)
    except Exception as exc:  # noqa: BLE001 - the other outputs are written
        message = f"Сводка по муниципалитетам не рассчитана: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("municipalities", "*", "муниципалитеты", ERROR, message))
        _remove_stale(processed, ["municipalities_summary", "reject_findings"], say)
        return
    for name in ("municipalities_summary", "reject_findings"):
        if name not in frames:
            _remove_stale(processed, [name], say)
            continue
        path = _write(frames[name], processed, name, log, say, "municipalities")
        if path is not None:
            result.outputs[name] = path
    ms = frames.get("municipalities_summary")
    if ms is not None and len(ms):
        last = ms[ms["year"] == ms["year"].max()]
        units = last[last["level"] != "municipality"] if len(last) > SUMMARY_UNITS_SHOWN + 1 else last
        more = len(last) - len(units)
        say("  municipalities_summary.parquet: " + "; ".join(
            f"{r.label_ru} — показатель объективности "
            + ("—" if pd.isna(r.objectivity_index) else ru.number(float(r.objectivity_index), 1))
            + f" ({r.objectivity_marked} из {r.objectivity_assessed}), план работы: меры {r.plan_measures}, "
            f"самоанализ {r.plan_tier3}, для сведения {r.plan_notes}; ШНОР {r.shnor}" for r in units.itertuples())
            + (f"; по каждому из {more} муниципалитетов — в этой таблице" if more else ""))
    rf = frames.get("reject_findings")
    if rf is not None and len(rf):
        say(f"  reject_findings.parquet: {len(rf)} школ × работ с сосредоточенными отклонёнными строками")


SUMMARY_UNITS_SHOWN = 6    # the log names the municipalities one by one up to this many, then only the total


def _compute_all(processed: Path, config: dict, tables: dict, result: ComputeResult, log: list[dict], say,
                 verbose: bool) -> None:
    scope = _org_scope(tables, config, processed, result, log, say)
    say("Диагностика объективности…")
    t = time.perf_counter()
    obj = _objectivity(tables, config, say, log)
    if obj is not None:
        path = _write(obj, processed, "objectivity", log, say, "objectivity")
        if path is not None:
            result.outputs["objectivity"] = path
            say(f"  objectivity.parquet: {len(obj)} строк ({time.perf_counter() - t:.1f} с)")
        from msoko.objectivity import calibration_table
        cal = _write(calibration_table(obj), processed, "objectivity_calibration", log, say, "objectivity")
        if cal is not None:
            result.outputs["objectivity_calibration"] = cal
    else:
        _remove_stale(processed, ["objectivity", "objectivity_calibration"], say)
    _calibration_pictures(obj, tables, processed, result, log, say)
    plan, plan_notes = _plan(obj, tables, config, processed, result, log, say)
    _evidence(obj, tables, config, processed, result, log, say)
    _cohort(obj, processed, result, log, say)
    recheck = _recheck(tables, config, obj, processed, result, log, say)
    observed = _observed(tables, config, processed, result, log, say)
    visits = _visits(plan, tables, processed, result, log, say)
    _plan_document(plan, recheck, observed, tables, config, processed, result, log, say, visits=visits)
    _olympiad(tables, config, processed, result, log, say)
    _medals(tables, config, processed, result, log, say)

    _vpr_views(tables, processed, result, log, say)

    say("Показатели восьми систем…")
    t = time.perf_counter()
    res = compute_indicators(tables, config, objectivity=obj, objectivity_plan=plan, progress=say if verbose else None)
    result.outputs["indicators"] = _write(res.indicators, processed, "indicators")
    cat = load_catalogue()
    notes = res.notes.set_index("indicator")["reason"]
    cat["computed"] = ~cat["code"].isin(notes.index)
    cat["note_ru"] = cat["code"].map(notes.to_dict()).astype(object).where(lambda x: x.notna(), "")
    cat_path = processed / "indicator_catalogue.csv"
    cat.to_csv(cat_path, index=False, encoding="utf-8-sig")
    result.outputs["indicator_catalogue"] = cat_path
    for name, key in (("shnor_list", "shnor"), ("shnor_procedures", "shnor_procedures"),
                      ("risk_profile", "risk_profile"), ("context_metrics", "context"),
                      ("principal_components", "principal_components"), ("spec_quality", "spec_quality")):
        df = res.details.get(key)
        if df is not None:
            path = _write(df.reset_index(drop=True), processed, name, log, say, "indicators")
            if path is not None:
                result.outputs[name] = path
    if res.details.get("spec_quality") is not None:   # specifications that do not fit the scores
        from msoko.spec_quality import warnings_ru
        for message in warnings_ru(res.details["spec_quality"]):
            say(f"  ПРЕДУПРЕЖДЕНИЕ: {message}")
            log.append(_row("spec_quality", "vpr_task_completion", "качество данных", WARNING, message))
    say(f"  indicators.parquet: {res.summary()} ({time.perf_counter() - t:.1f} с)")
    _municipalities(tables, config, scope, obj, plan, res.details.get("shnor"), processed, result, log, say,
                    plan_notes=plan_notes)
    result.notes = res.notes
    failed = {}
    for f in getattr(res, "failures", []):
        say(f"  ОШИБКА: {f['message_ru']}")
        for code in f["indicators"]:
            failed[code] = f["message_ru"]
    systems_of = res.notes.set_index("indicator")["system"].to_dict() if len(res.notes) else {}
    for code, message in failed.items():
        scope = f"система {systems_of[code]}" if code in systems_of else "показатели"
        log.append(_row("indicators", code, scope, ERROR, message))
    if len(res.notes):
        for system, part in res.notes.groupby("system"):
            part = part.loc[~part["indicator"].isin(failed)]
            if not len(part):
                continue
            say(f"  система {system}: не рассчитано — "
                + "; ".join(f"{r.indicator} ({r.reason})" for r in part.itertuples()))
            for r in part.itertuples():
                log.append(_row("indicators", r.indicator, f"система {system}", WARNING,
                                f"Показатель «{r.name_ru}» не рассчитан: {r.reason}."))

    _textbooks(tables, config, processed, result, log, say)

    say("Управленческий цикл: анализ, рекомендации, эффективность мер…")
    t = time.perf_counter()
    try:
        cycles = management_cycle(res.indicators, cat, config, measures=tables.get("measures"), meta=res.meta,
                                  notes=res.notes, objectivity=obj, objectivity_plan=plan,
                                  skills=task_skills(tables.get("task_specs")))
    except Exception as exc:  # noqa: BLE001 - the indicators and the diagnostics are already written
        message = f"Управленческий цикл не рассчитан: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("cycle", "*", "управленческий цикл", ERROR, message))
        _remove_stale(processed, CYCLE_OUTPUTS, say)
        return
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
        "system_status": system_status(res.indicators, cat, res.notes, res.meta),
    }
    for name, df in outputs.items():
        path = _write(df, processed, name, log, say, "cycle")
        if path is not None:
            result.outputs[name] = path
    say(f"  цикл рассчитан ({time.perf_counter() - t:.1f} с): "
        f"зон внимания {len(outputs['cycle_analysis'])}, рекомендаций {len(outputs['recommendations'])}, "
        f"мер оценено {len(outputs['effectiveness'])}")
    for s, c in cycles.items():
        say(f"    {s}. {SYSTEM_NAMES[s][:60]}…: зон внимания {len(c.analysis)}, "
            f"рекомендаций {len(c.recommendations)}")
    _priorities(outputs["cycle_analysis"], cat, config, obj, plan, res, processed, result, log, say,
                recs=outputs["recommendations"])


def _evidence(obj, tables, config, processed, result, log, say) -> None:
    """objectivity_evidence.parquet: the picture data of the works the reports draw (the reports read it
    and never recompute a sign)."""
    if obj is None:
        _remove_stale(processed, ["objectivity_evidence"], say)
        return
    try:
        from msoko.objectivity import picture_evidence
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ev = picture_evidence(tables, config, obj)
    except Exception as exc:  # noqa: BLE001 - the signs are already written
        message = f"Данные для графиков признаков объективности не рассчитаны: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("objectivity", "objectivity_evidence", "объективность", ERROR, message))
        _remove_stale(processed, ["objectivity_evidence"], say)
        return
    path = _write(ev, processed, "objectivity_evidence", log, say, "objectivity")
    if path is not None:
        result.outputs["objectivity_evidence"] = path


def _cohort(obj, processed, result, log, say) -> None:
    """objectivity_cohort.parquet: every school's cohort ratio K with the fences (msoko.objectivity.cohort_points),
    the reference a school report draws its school against without reading other municipalities' signs."""
    if obj is None:
        _remove_stale(processed, ["objectivity_cohort"], say)
        return
    from msoko.objectivity import cohort_points

    path = _write(cohort_points(obj), processed, "objectivity_cohort", log, say, "objectivity")
    if path is not None:
        result.outputs["objectivity_cohort"] = path


def _plan(obj, tables, config, processed, result, log, say) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """objectivity_plan.parquet: the plan of work, tiered by evidence (msoko.objectivity.plan) — the one
    definition the reports, the priorities and the principal's composite read; and
    objectivity_plan_notes.parquet: the schools with flagged signs but no school-level finding (shown as
    information, not acted on)."""
    names = ["objectivity_plan", "objectivity_plan_notes"]
    if obj is None:
        _remove_stale(processed, names, say)
        return None, None
    try:
        from msoko.objectivity.plan import max_scores_of, plan_and_notes
        plan, notes = plan_and_notes(obj, config, max_scores_of(tables.get("vpr")))
    except Exception as exc:  # noqa: BLE001 - the signs are already written
        message = f"План работы по объективности не построен: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("objectivity", "objectivity_plan", "объективность", ERROR, message))
        _remove_stale(processed, names, say)
        return None, None
    path = _write(plan, processed, "objectivity_plan", log, say, "objectivity")
    if path is not None:
        result.outputs["objectivity_plan"] = path
        counts = plan["tier"].value_counts().to_dict()
        say("  objectivity_plan.parquet: " + ", ".join(f"уровень {t} — {counts.get(t, 0)}" for t in (1, 2, 3))
            + " (школа × год)")
    path = _write(notes, processed, "objectivity_plan_notes", log, say, "objectivity")
    if path is not None:
        result.outputs["objectivity_plan_notes"] = path
        say(f"  objectivity_plan_notes.parquet: для сведения, вне плана — {len(notes)} (школа × год), из них "
            f"только официальные признаки — {int(notes['official_only'].sum())}")
    return plan, notes


def _vpr_views(tables, processed, result, log, say) -> None:
    """vpr_works.parquet and vpr_score_counts.parquet: the distributions the reports draw (msoko.vpr_views)."""
    from msoko.vpr_views import vpr_score_counts, vpr_works
    names = ("vpr_works", "vpr_score_counts")
    if tables.get("vpr") is None:
        _remove_stale(processed, names, say)
        return
    try:
        frames = {"vpr_works": vpr_works(tables["vpr"]),
                  "vpr_score_counts": vpr_score_counts(tables["vpr"], tables.get("schools"))}
    except Exception as exc:  # noqa: BLE001 - the indicators must still be written
        message = f"Распределения баллов ВПР не рассчитаны: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("vpr_views", "*", "ВПР", ERROR, message))
        _remove_stale(processed, names, say)
        return
    for name, df in frames.items():
        path = _write(df, processed, name, log, say, "vpr_views")
        if path is not None:
            result.outputs[name] = path
    say(f"  vpr_works.parquet: работ {len(frames['vpr_works'])}; vpr_score_counts.parquet: "
        f"{len(frames['vpr_score_counts'])} строк")


def _priorities(analysis, cat, config, obj, plan, res, processed, result, log, say, recs=None) -> None:
    """priorities.parquet: the attention zones of each school ranked (msoko.priorities);
    first_screen.parquet: what each school's first screen says, on the evidence rule."""
    from msoko.priorities import first_screen, priorities
    try:
        prio = priorities(analysis, cat, config, objectivity=obj, objectivity_plan=plan, indicators=res.indicators,
                          meta=res.meta)
    except Exception as exc:  # noqa: BLE001 - the cycle tables are already written
        message = f"Приоритеты (зоны внимания по важности) не рассчитаны: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("cycle", "priorities", "управленческий цикл", ERROR, message))
        _remove_stale(processed, ["priorities"], say)
        return
    path = _write(prio, processed, "priorities", log, say, "cycle")
    if path is not None:
        result.outputs["priorities"] = path
        say(f"  priorities.parquet: зон внимания {len(prio)}, из них на первом экране {int(prio['top'].sum())}")
    try:
        fs = first_screen(prio, recs, res.indicators, cat, config, objectivity=obj, objectivity_plan=plan)
    except Exception as exc:  # noqa: BLE001 - the priorities are already written
        message = f"Первый экран отчётов школ не рассчитан: {_describe(exc)}."
        say(f"  ОШИБКА: {message}")
        log.append(_row("cycle", "first_screen", "управленческий цикл", ERROR, message))
        _remove_stale(processed, ["first_screen"], say)
        return
    path = _write(fs, processed, "first_screen", log, say, "cycle")
    if path is not None:
        result.outputs["first_screen"] = path
        part = fs["part"].value_counts()
        say(f"  first_screen.parquet: зон внимания {int(part.get('concern', 0))}, сильных сторон "
            f"{int(part.get('strength', 0))}, действий {int(part.get('action', 0))}")


def _effectiveness_all(cycles) -> pd.DataFrame:
    parts = [c.effectiveness for c in cycles.values() if len(c.effectiveness)]
    if not parts:
        return next(iter(cycles.values())).effectiveness.iloc[0:0]
    return pd.concat(parts, ignore_index=True).drop_duplicates(
        subset=["year", "school_id", "indicator", "measure"]).reset_index(drop=True)


__all__ = ["compute", "load_tables", "ComputeResult", "table_path", "LOG_NAME", "LOG_COLUMNS"]
