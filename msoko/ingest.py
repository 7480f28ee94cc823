"""``msoko ingest``: raw folder → validated, typed Parquet tables.

Two stages.

1. **Parse** (per file, parallel over a process pool, cached by content hash):
   read the file (:mod:`msoko.readers`), classify it by its header
   (:mod:`msoko.layouts`), clean every column and reject the rows that cannot be
   cleaned. The result of a file is stored as Parquet fragments under
   ``<processed>/_cache/<key>/``; an unchanged file is never read again.
2. **Assemble** (always cheap, vectorised): checks that need more than one file —
   task score above the maximum of the task specification, unknown school, duplicate
   keys across files — then writes the tables of ``docs/architecture.md``,
   ``rejects.csv``, ``cleaning_log.csv``, ``ingest_report.csv`` (the row balance of every
   file) and ``ingest_state.json``.

A re-run with unchanged inputs (same paths, sizes, modification times — or the
same content hashes — and the same dictionary, mark scales and parser) does no work.
Cleaning decisions are documented in ``docs/data_dictionary.md`` (generated from
:data:`msoko.dictionary.CLEANING_DECISIONS`).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from msoko import layouts, questionnaire
from msoko.errors import MsokoError, OutputError
from msoko.readers import cell_text, clean_header, is_supported, read_table
from msoko.store import (FolderLock, atomic_path, csv_unsafe, table_path, write_csv, write_parquet, write_table,
                         write_text_atomic, writing_to)

PARSER_VERSION = "13"  # 10: rejects carry the school_id of a ВПР row; 11: textbooks kept; 12–13: every sheet read, refused files
STATE_FILE = "ingest_state.json"
# a task maximum exceeded by more than max(5 rows, 1 % of participants) is treated as a spec error
SPEC_SUSPECT_MIN_ROWS = 5
SPEC_SUSPECT_SHARE = 0.01
CACHE_DIR = "_cache"

NOT_DONE = {"x", "х", "не пройд.", "не пройд", "не пройдено", "не выполнял"}
MARK_MISSING = {"", "нет отметки", "н/а", "н\\а", "на", "*", "-", "—", "–", "нет", "нет оценки", "н/о"}
CLASS_NONE = {"", "нет", "-", "—"}
ABSENT = "отсутствовал"

VPR_COLUMNS = ["year", "grade", "subject", "school_id", "student_code", "journal_mark", "sex", "class",
               "variant", "absent", "primary_score", "max_score", "mark", "source_file", "source_row"]
TASK_SCHEMA = pa.schema([("year", pa.int16()), ("grade", pa.int8()), ("subject", pa.string()),
                         ("school_id", pa.string()), ("student_code", pa.string()), ("task", pa.string()),
                         ("score", pa.float64())])
SPEC_COLUMNS = ["grade", "subject", "task", "task_label", "skill", "outcome", "level", "max_score", "kes", "kt",
                "source_file"]
REJECT_COLUMNS = ["file", "row", "column", "value", "reason"]
CLEANING_COLUMNS = ["file", "row", "column", "value", "action"]
SCHOOL_COLUMNS = ["school_id", "name", "municipality", "org_type", "settlement_type", "settlement",
                  "students_total", "is_preschool", "settlement_size", "legal_form", "is_correctional",
                  "is_evening", "is_boarding", "teachers_total", "name_full"]

KIND_RU = {"vpr2020": "ВПР 2020", "vpr2021": "ВПР 2021", "logins": "реестр (logins)",
           "context": "контекстная анкета", "task_specs": "спецификация заданий",
           "codifier": "кодификатор", "template": "шаблон", "mark_scales": "шкалы отметок", "unknown": "неизвестный формат",
           "error": "ошибка чтения"}


# ====================================================================== results
@dataclass
class FileReport:
    file: str
    kind: str
    table: str | None
    rows_read: int
    rows_written: int
    rows_rejected: int
    status: str
    message: str = ""

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_written + self.rows_rejected


@dataclass
class IngestResult:
    ok: bool
    processed_dir: Path
    files: list[FileReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unchanged: bool = False
    parsed: int = 0          # files parsed in this run (0 on a no-change re-run)
    seconds: float = 0.0

    @property
    def unreadable(self) -> list[FileReport]:
        """Files that could not be read at all (status ``error``) or whose rows were all refused as a
        whole (``refused``: a recognised ВПР export of an unknown subject, year or grade, a workbook sheet
        of no known format): the CLI must not exit 0 on them."""
        return [f for f in self.files if f.status in ("error", "refused")]

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_written(self) -> int:
        return sum(f.rows_written for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)


def _say(msg: str) -> None:
    """A warning or an error: stderr, always (a scheduled run mails what it prints there)."""
    print(msg, file=sys.stderr)


def _info(msg: str, progress: bool) -> None:
    """Progress and the balance table: on the terminal only (stderr when ``progress``), else to stdout,
    which a scheduled run discards — its stderr stays empty unless something is wrong."""
    print(msg, file=sys.stderr if progress else sys.stdout)


# ====================================================================== small helpers
def file_hash(path: Path) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def config_fingerprint() -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(PARSER_VERSION.encode())
    for name in ("data_dictionary.toml", "mark_scales.csv"):
        h.update((resources.files("msoko") / "resources" / name).read_bytes())
    return h.hexdigest()


def _text(series: pd.Series) -> np.ndarray:
    """Column of stored cells → array of cleaned text (via unique values: fast on repetitive columns)."""
    vals = series.to_numpy(dtype=object)
    if len(vals) == 0:
        return np.array([], dtype=object)
    codes, uniq = pd.factorize(vals, use_na_sentinel=False)  # hash-based: works on mixed float/str
    return np.array([cell_text(v) for v in uniq], dtype=object)[codes]


def _classify_number(raw) -> tuple[int, float]:
    """One distinct cell value → (kind, value): 0 empty, 1 not done ('X'), 2 number, 3 not a number."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return (0, np.nan) if raw != raw else (2, float(raw))
    t = cell_text(raw)
    if t == "":
        return 0, np.nan
    if t.lower() in NOT_DONE:
        return 1, np.nan
    try:
        return 2, float(t.replace(",", ".").replace(" ", ""))
    except ValueError:
        return 3, np.nan


def _numbers(series: pd.Series):
    """Column → (float values with NaN for empty/not done, not_done mask, bad mask).

    Hash-based: a score column has a handful of distinct values ('0', '1', '2', 'X', ''), so each
    distinct value is classified once and the result is spread with a vectorised lookup.
    """
    vals = series.to_numpy(dtype=object)
    codes, uniq = pd.factorize(vals, use_na_sentinel=False)
    kinds = np.empty(len(uniq), dtype=np.int8)
    values = np.empty(len(uniq), dtype="float64")
    for u, raw in enumerate(uniq):
        kinds[u], values[u] = _classify_number(raw)
    k = kinds[codes]
    return values[codes], k == 1, k == 3


class _Rejects:
    """Collects rejected rows of one file (a row is rejected once, with its first reason)."""

    def __init__(self, file: str, n: int):
        self.file = file
        self.mask = np.zeros(n, dtype=bool)
        self.records: list[tuple] = []

    def add(self, positions, rows, column: str, values, reason):
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size == 0:
            return
        fresh = ~self.mask[positions]
        positions = positions[fresh]
        rows = np.asarray(rows)[fresh]
        values = np.asarray(values, dtype=object)[fresh] if not isinstance(values, str) else [values] * len(positions)
        reasons = [reason] * len(positions) if isinstance(reason, str) else np.asarray(reason, dtype=object)[fresh]
        self.mask[positions] = True
        for r, v, why in zip(rows, values, reasons):
            if isinstance(v, (float, np.floating)):
                v = f"{float(v):g}"
            self.records.append((self.file, int(r), column, "" if v is None else str(v), why))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records, columns=REJECT_COLUMNS)


def _nonempty_rows(df: pd.DataFrame) -> np.ndarray:
    if df.shape[1] == 0:
        return np.zeros(len(df), dtype=bool)
    arr = df.to_numpy(dtype=object)
    empty = (arr == "") | pd.isna(arr)
    if empty.any():
        # whitespace-only strings are empty too (rare: check only string cells not already empty)
        pass
    return ~empty.all(axis=1)


# ====================================================================== per-kind parsers
class _VprSheet:
    """The non-empty rows of one ВПР sheet and its columns by layout field (read once, cached)."""

    def __init__(self, table, lay):
        keep = table.nonempty()
        self.table, self.lay, self.header = table, lay, table.header
        self.rows = (np.flatnonzero(keep) + table.first_data_row).astype(np.int32)
        self.n = len(self.rows)
        self.pos = np.arange(self.n)
        self._kept = table.kept_rows(keep)
        self._cache: dict[int, pd.Series] = {}

    def by_index(self, ci) -> pd.Series:
        if ci not in self._cache:
            self._cache[ci] = pd.Series(self.table.column_of(self._kept, ci), dtype=object)
        return self._cache[ci]

    def col(self, f) -> pd.Series:
        return self.by_index(self.lay.columns[f]) if f in self.lay.columns else pd.Series([""] * self.n, dtype=object)

    def head(self, f) -> str:
        return self.header[self.lay.columns[f]] if f in self.lay.columns else f


def _parse_vpr(table, lay, rel: str, raw_root: Path) -> dict:
    """One ВПР sheet → its works, task scores, textbooks, rejects and cleaning log, in named steps: the
    file's contradictions, key columns and total, task scores, journal mark, sex and class."""
    year, grade, subject = layouts.vpr_identity(table.path, raw_root)
    sh = _VprSheet(table, lay)
    n, rows, pos = sh.n, sh.rows, sh.pos
    rej = _Rejects(rel, n)
    cleaning: list[tuple] = []
    warnings = _vpr_contradictions(sh, rej, rel, raw_root)
    school = _text(sh.col("school_id"))
    code = _text(sh.col("student_code"))
    variant = _text(sh.col("variant"))
    var_l = np.char.lower(variant.astype(str)) if n else np.array([], dtype=str)
    absent = var_l == ABSENT
    total, total_nd, total_bad = _numbers(sh.col("total"))
    if lay.kind == "vpr2020":
        absent = absent | (np.isnan(total) & ~total_bad & ~total_nd)
    _vpr_check_keys_and_total(sh, rej, school, code, absent, total, total_nd, total_bad)
    scores, task_labels, task_heads = _vpr_task_scores(sh, rej, absent)
    task_sum = np.nansum(scores, axis=1)
    m = ~absent & ~np.isnan(total) & (np.abs(task_sum - total) > 1e-6)
    rej.add(pos[m], rows[m], sh.head("total"), total[m],
            [f"«всего баллов» = {t:g} не равно сумме баллов за задания = {s:g}" for t, s in zip(total[m], task_sum[m])])
    journal = _vpr_journal_marks(sh, rel, cleaning)
    sex, klass = _vpr_sex_and_class(sh, rel, cleaning)

    cols = {
        "year": pa.array(np.full(n, year, dtype="int16")),
        "grade": pa.array(np.full(n, grade, dtype="int8")),
        "subject": pa.array(np.full(n, subject, dtype=object), type=pa.string()),
        "school_id": pa.array(school, type=pa.string()),
        "student_code": pa.array(code, type=pa.string()),
        "journal_mark": pa.array(journal, type=pa.int8()),
        "sex": pa.array(sex, type=pa.string()),
        "class": pa.array(klass, type=pa.string()),
        "variant": pa.array(np.where(absent | (variant == ""), None, variant).astype(object), type=pa.string()),
        "absent": pa.array(absent.astype(bool)),
        "primary_score": pa.array(np.where(absent, np.nan, total), type=pa.float64()),
        "max_score": pa.array(np.full(n, np.nan), type=pa.float64()),
        "mark": pa.nulls(n, type=pa.int8()),
        "source_file": pa.array(np.full(n, rel, dtype=object), type=pa.string()),
        "source_row": pa.array(rows, type=pa.int32()),
    }
    if "export_mark" in lay.columns:
        em = pd.to_numeric(pd.Series(_text(sh.col("export_mark"))), errors="coerce")
        cols["export_mark"] = pa.array(em.where(em.between(2, 5)).to_numpy(dtype="float64", na_value=np.nan),
                                       type=pa.float64())
    good = ~rej.mask
    vpr = pa.table(cols).filter(pa.array(good))
    present = good & ~absent
    idx = np.flatnonzero(present)
    tasks, hist = _vpr_task_table(year, grade, subject, school[idx], code[idx], scores[idx], rows[idx], task_labels)
    rejected = rej.frame()
    # the school of a rejected row, where its login cell is readable (msoko.municipalities.reject_findings)
    rejected["school_id"] = rejected["row"].map(dict(zip(rows.tolist(), school.tolist()))).replace("", None)
    frames = {"rejects": rejected, "cleaning": pd.DataFrame(cleaning, columns=CLEANING_COLUMNS)}
    if lay.textbook:   # each pupil's textbook (2021 layout), kept beside the work
        tb = {f: _text(sh.by_index(ci)) for f, ci in lay.textbook.items()}
        blank = np.full(n, "", dtype=object)
        frames["textbooks"] = pd.DataFrame({
            "school_id": school, "student_code": code,
            **{f: [v or None for v in tb.get(f, blank)] for f in ("textbook", "other_author", "other_title")},
            "source_row": rows})[present].reset_index(drop=True)
    return {
        "frames": frames,
        "arrow": {"vpr": vpr, "tasks": tasks},
        "rows_read": n,
        "rows_rejected": int(rej.mask.sum()),
        "warnings": warnings,
        "meta": {"year": year, "grade": grade, "subject": subject, "tasks": task_labels, "task_headers": task_heads,
                 "score_hist": hist, "n_present": int(len(idx))},
    }


def _vpr_contradictions(sh: _VprSheet, rej: _Rejects, rel: str, raw_root: Path) -> list[str]:
    """Contradictions, not merges: every row of the file is refused (counted, named), none is loaded into
    another year/grade/subject or with one task twice."""
    n, rows, pos, header = sh.n, sh.rows, sh.pos, sh.header
    warnings: list[str] = []
    conflicts = layouts.vpr_identity_conflicts(sh.table.path, raw_root)
    if conflicts and n:
        what = "; ".join(conflicts)
        rej.add(pos, rows, "имя файла и папка", [Path(rel).name] * n,
                f"имя файла и папка расходятся ({what}) — неясно, к какой работе отнести строку; "
                "переименуйте файл или перенесите его в нужную папку")
        warnings.append(f"«{rel}»: имя файла и папка расходятся ({what}) — все {n} строк файла отклонены "
                        "(см. rejects.csv), ни одна не загружена в другой год, класс или предмет.")
    for label, cis in sh.lay.duplicate_tasks().items():
        from openpyxl.utils import get_column_letter

        letters = ", ".join(get_column_letter(ci + 1) for ci in cis)
        rej.add(pos, rows, header[cis[0]], [f"столбцы {letters}"] * n,
                f"столбец «{header[cis[0]]}» повторяется (столбцы {letters}) — неясно, какой из них задание "
                f"{label}; строка не загружена, исправьте заголовок")
        if n:
            warnings.append(f"«{rel}»: столбец «{header[cis[0]]}» повторяется (столбцы {letters}) — задание {label} "
                            f"не загружено дважды: все {n} строк файла отклонены (см. rejects.csv).")
    return warnings


def _vpr_check_keys_and_total(sh: _VprSheet, rej: _Rejects, school, code, absent, total, total_nd, total_bad) -> None:
    """Rows without a school login or a pupil's code, and with a total that is not a number, missing for a
    participant, or negative."""
    rows, pos = sh.rows, sh.pos
    m = school == ""
    rej.add(pos[m], rows[m], sh.head("school_id"), school[m], "пустой логин школы")
    m = code == ""
    rej.add(pos[m], rows[m], sh.head("student_code"), code[m], "пустой код обучающегося")
    m = total_bad | total_nd
    raw_total = sh.col("total").to_numpy(dtype=object)
    rej.add(pos[m & ~absent], rows[m & ~absent], sh.head("total"), [cell_text(v) for v in raw_total[m & ~absent]],
            "«всего баллов» — не число")
    m = ~absent & np.isnan(total) & ~total_bad & ~total_nd
    rej.add(pos[m], rows[m], sh.head("total"), [""] * int(m.sum()),
            "пустое «всего баллов» у участника с указанным вариантом (не отмечен как отсутствовавший)")
    m = ~absent & (total < 0)
    rej.add(pos[m], rows[m], sh.head("total"), total[m], "отрицательный общий балл")


def _vpr_task_scores(sh: _VprSheet, rej: _Rejects, absent) -> tuple[np.ndarray, list[str], list[str]]:
    """Task scores (rows × tasks; «X» and empty → NaN) with the rows whose score is not a number or negative
    rejected; the 2020 layout keeps only the task columns that hold anything. Returns the scores, the task
    labels and their headers."""
    rows, pos, header = sh.rows, sh.pos, sh.header
    task_cols = sh.lay.tasks
    k = len(task_cols)
    scores = np.full((sh.n, k), np.nan)
    used = np.zeros(k, dtype=bool)
    for j, (label, ci) in enumerate(task_cols):
        s = sh.by_index(ci)
        num, nd, bad = _numbers(s)
        used[j] = bool((~np.isnan(num) | nd | bad).any())
        scores[:, j] = np.where(nd, np.nan, num)
        mb = bad & ~absent
        if mb.any():
            raw = s.to_numpy(dtype=object)
            rej.add(pos[mb], rows[mb], header[ci], [cell_text(v) for v in raw[mb]],
                    "балл за задание — не число (допустимы число, «X» — задание не выполнено, пусто)")
        mneg = (num < 0) & ~absent
        if mneg.any():
            rej.add(pos[mneg], rows[mneg], header[ci], num[mneg], "отрицательный балл за задание")
    keep_tasks = used if sh.lay.kind == "vpr2020" else np.ones(k, dtype=bool)
    task_labels = [t for (t, _), u in zip(task_cols, keep_tasks) if u]
    task_heads = [header[ci] for (_, ci), u in zip(task_cols, keep_tasks) if u]
    return scores[:, keep_tasks], task_labels, task_heads


def _vpr_journal_marks(sh: _VprSheet, rel: str, cleaning: list) -> pd.arrays.IntegerArray:
    """The journal mark 2–5 (Int8); anything else is set to missing, noted in the cleaning log unless it is
    one of the words for «no mark»."""
    jm_text = _text(sh.col("journal_mark"))
    jmap, jnote = {}, {}
    for u in pd.unique(jm_text):
        t = str(u).strip().lower()
        try:
            v = float(t.replace(",", "."))
        except ValueError:
            v = None
        if v is not None and v.is_integer() and 2 <= v <= 5:
            jmap[u] = int(v)
        else:
            jmap[u] = None
            if t not in MARK_MISSING:
                jnote[u] = True
    jcodes, juniq = pd.factorize(jm_text, use_na_sentinel=False)
    jvals = np.array([np.nan if jmap[u] is None else jmap[u] for u in juniq] + [np.nan], dtype="float64")[:-1]
    jflag = np.array([u in jnote for u in juniq] + [False], dtype=bool)[:-1]
    for i in np.flatnonzero(jflag[jcodes]):
        cleaning.append((rel, int(sh.rows[i]), sh.head("journal_mark"), str(jm_text[i]),
                         "отметка за четверть вне 2–5 или не отметка — записан пропуск"))
    return pd.array(jvals[jcodes], dtype="Int8")


def _vpr_sex_and_class(sh: _VprSheet, rel: str, cleaning: list) -> tuple[np.ndarray, np.ndarray]:
    """Sex «м»/«ж» (anything else missing, noted) and the class letter (the words for «no class» missing)."""
    n = sh.n
    sx = _text(sh.col("sex"))
    sx_l = np.char.lower(sx.astype(str)) if n else np.array([], dtype=str)
    sex = np.where(np.isin(sx_l, ["м", "ж"]), sx_l, None).astype(object)
    for i in np.flatnonzero(~np.isin(sx_l, ["м", "ж", ""])):
        cleaning.append((rel, int(sh.rows[i]), sh.head("sex"), str(sx[i]), "пол не «м»/«ж» — записан пропуск"))
    cl = _text(sh.col("class"))
    cl_l = np.char.lower(cl.astype(str)) if n else np.array([], dtype=str)
    klass = np.where(np.isin(cl_l, list(CLASS_NONE)), None, cl_l).astype(object)
    return sex, klass


def _vpr_task_table(year, grade, subject, school, code, scores, rows, task_labels) -> tuple[pa.Table, dict]:
    """The long task table of the present participants (dictionary-encoded) and the distinct scores per task
    with counts (the spec check of stage 2 needs no re-read of the rows)."""
    kk = len(task_labels)
    m_rows = len(rows) * kk

    def dict_array(values: np.ndarray) -> pa.DictionaryArray:
        codes, uniq = pd.factorize(values)
        return pa.DictionaryArray.from_arrays(pa.array(np.repeat(codes.astype("int32"), kk)),
                                              pa.array(list(uniq), type=pa.string()))

    tasks = pa.table({
        "year": pa.array(np.full(m_rows, year, dtype="int16")),
        "grade": pa.array(np.full(m_rows, grade, dtype="int8")),
        "subject": pa.DictionaryArray.from_arrays(pa.array(np.zeros(m_rows, dtype="int32")),
                                                  pa.array([subject], type=pa.string())),
        "school_id": dict_array(school),
        "student_code": dict_array(code),
        "task": pa.DictionaryArray.from_arrays(pa.array(np.tile(np.arange(kk, dtype="int32"), len(rows))),
                                               pa.array(task_labels, type=pa.string())),
        "score": pa.array(scores.ravel(), from_pandas=True),
        "source_row": pa.array(np.repeat(rows, kk)),
    })
    hist = {}
    for j, label in enumerate(task_labels):
        col_scores = scores[:, j]
        col_scores = col_scores[~np.isnan(col_scores)]
        vals, cnts = np.unique(col_scores, return_counts=True)
        hist[label] = [[float(a), int(b)] for a, b in zip(vals, cnts)]
    return tasks, hist


def _norm_task(value) -> str:
    t = cell_text(value)
    try:
        f = float(t.replace(",", "."))
        if f.is_integer():
            return str(int(f))
    except ValueError:
        pass
    return t


def _clean_spec_text(v) -> str:
    return cell_text(v).replace("\x02", "").replace("\xad", "")


def _parse_specs(table, lay, rel: str, raw_root: Path) -> dict:
    path = table.path
    parts = path.parent.parts
    grade_s, subj_s = parts[-2], parts[-1]
    subject = layouts.subject_from_text(subj_s)
    if not grade_s.isdigit() or subject is None:
        raise MsokoError(f"Файл «{rel}»: спецификация заданий должна лежать в task_specs/<класс>/<предмет>/ALL.xlsx; "
                         "не удалось определить класс или предмет по пути. Файл пропущен.")
    grade = int(grade_s)
    data = table.data
    keep = _nonempty_rows(data)
    data = data[keep]
    rows = np.flatnonzero(keep) + table.first_data_row
    rej = _Rejects(rel, len(data))
    recs = []
    c = lay.columns
    for i, (r, row) in enumerate(zip(rows, data.itertuples(index=False, name=None))):
        task = _norm_task(row[c["task"]])
        label = _norm_task(row[c["task_label"]]) if "task_label" in c else task
        mx_t = cell_text(row[c["max_score"]])
        try:
            mx = float(mx_t.replace(",", "."))
        except ValueError:
            rej.add([i], [r], table.header[c["max_score"]], mx_t, "максимальный балл — не число")
            continue
        if task == "":
            rej.add([i], [r], table.header[c["task"]], "", "пустой номер задания")
            continue
        lvl = cell_text(row[c["level"]]).upper() if "level" in c else ""
        lvl = {"Б": "Б", "П": "П", "В": "В", "B": "В", "Б.": "Б"}.get(lvl, None)
        recs.append({"task": task, "task_label": label.replace("K", "К"),
                     "skill": _clean_spec_text(row[c["skill"]]) if "skill" in c else "",
                     "outcome": _clean_spec_text(row[c["outcome"]]) if "outcome" in c else "",
                     "level": lvl, "max_score": mx,
                     "kes": _norm_code(row[c["kes"]]) if "kes" in c else "",
                     "kt": _norm_code(row[c["kt"]]) if "kt" in c else "", "row": int(r), "pos": i})
    df = pd.DataFrame(recs)
    n_rows = len(data)
    if df.empty:
        out = pd.DataFrame(columns=SPEC_COLUMNS)
    else:
        # one row per task: several rows of one task list its КЭС/КТ codes; the maximum is the task's
        def join(s):
            vals = [v for v in dict.fromkeys(s) if v]
            return ", ".join(vals) if vals else None
        g = df.groupby("task", sort=False)
        out = pd.DataFrame({
            "task": list(g.groups.keys()),
            "task_label": g["task_label"].first().to_numpy(),
            "skill": g["skill"].first().to_numpy(),
            "outcome": g["outcome"].first().to_numpy(),
            "level": g["level"].agg(lambda s: next((v for v in s if v), None)).to_numpy(),
            "max_score": g["max_score"].max().to_numpy(),
            "kes": g["kes"].agg(join).to_numpy(),
            "kt": g["kt"].agg(join).to_numpy(),
        })
        out["_order"] = pd.to_numeric(out["task"], errors="coerce")
        out = out.sort_values("_order", kind="stable").drop(columns="_order")
        out.insert(0, "subject", subject)
        out.insert(0, "grade", np.int8(grade))
        out["grade"] = out["grade"].astype("int8")
        out["source_file"] = rel
    # every non-rejected spec row is "written" (folded into its task)
    return {"frames": {"task_specs": out.reset_index(drop=True), "rejects": rej.frame()},
            "rows_read": n_rows, "rows_rejected": int(rej.mask.sum()),
            "meta": {"grade": grade, "subject": subject}}


def _norm_code(v) -> str:
    t = cell_text(v)
    if t.endswith(".0") and t[:-2].replace(".", "").isdigit():
        t = t[:-2]
    return t


def _simple_rows(table, lay, rel):
    data = table.data
    keep = _nonempty_rows(data)
    data = data[keep]
    rows = np.flatnonzero(keep) + table.first_data_row
    return data, rows


def _parse_logins(table, lay, rel, raw_root) -> dict:
    data, rows = _simple_rows(table, lay, rel)
    rej = _Rejects(rel, len(data))
    sid = _text(data.iloc[:, lay.columns["school_id"]])
    name = _text(data.iloc[:, lay.columns["name"]])
    mun = _text(data.iloc[:, lay.columns["municipality"]])
    pos = np.arange(len(data))
    m = sid == ""
    rej.add(pos[m], rows[m], "логин", sid[m], "пустой логин школы")
    dup = pd.Series(sid).duplicated().to_numpy() & (sid != "")
    rej.add(pos[dup], rows[dup], "логин", sid[dup], "логин повторяется (первая строка загружена)")
    good = ~rej.mask
    df = pd.DataFrame({"school_id": sid[good], "name": name[good], "municipality": mun[good],
                       "source_file": rel, "source_row": rows[good].astype("int32")})
    return {"frames": {"logins": df, "rejects": rej.frame()}, "rows_read": len(data),
            "rows_rejected": int(rej.mask.sum()), "meta": {}}


SETTLEMENT_KIND = [("сельск", "село"), ("городского типа", "пгт"), ("пгт", "пгт"), ("поселок", "пгт"),
                   ("город", "город"), ("столиц", "город"), ("центр", "город")]


def settlement_type(answer: str) -> str | None:
    t = layouts.norm(answer)
    for key, val in SETTLEMENT_KIND:
        if key in t:
            return val
    return None


def _yes(v: str):
    t = v.strip().lower()
    return True if t == "да" else False if t == "нет" else None


def _parse_context(table, lay, rel, raw_root) -> dict:
    data, rows = _simple_rows(table, lay, rel)
    rej = _Rejects(rel, len(data))
    c = lay.columns
    get = {f: _text(data.iloc[:, i]) for f, i in c.items()}
    n = len(data)
    sid = get["school_id"]
    pos = np.arange(n)
    m = sid == ""
    rej.add(pos[m], rows[m], "логин", sid[m], "пустой логин школы")
    dup = pd.Series(sid).duplicated().to_numpy() & (sid != "")
    rej.add(pos[dup], rows[dup], "логин", sid[dup], "логин повторяется (первая строка загружена)")
    blank = np.array([""] * n, dtype=object)

    def num(f):
        return pd.to_numeric(pd.Series(get.get(f, blank)).str.replace(",", "."), errors="coerce")

    df = pd.DataFrame({
        "school_id": sid,
        "name_short": get.get("name_short", blank),
        "name_full": get.get("name_full", blank),
        "legal_form": [v.split(".", 1)[-1].strip() if v else None for v in get.get("legal_form", blank)],
        "settlement_kind": get.get("settlement_kind", blank),
        "settlement_type": [settlement_type(v) if v else None for v in get.get("settlement_kind", blank)],
        "settlement": [v or None for v in get.get("settlement", blank)],
        "settlement_size": [v.split(".", 1)[-1].strip() if v else None for v in get.get("settlement_size", blank)],
        "is_correctional": pd.array([_yes(v) for v in get.get("is_correctional", blank)], dtype="boolean"),
        "is_evening": pd.array([_yes(v) for v in get.get("is_evening", blank)], dtype="boolean"),
        "is_boarding": pd.array([_yes(v) for v in get.get("is_boarding", blank)], dtype="boolean"),
        "students_total": num("students_total").round().astype("Int32"),
        "teachers_total": num("teachers_total").round().astype("Int32"),
        "source_file": rel,
        "source_row": rows.astype("int32"),
    })
    df = df[~rej.mask].reset_index(drop=True)
    # every column of the questionnaire, by its header (msoko/questionnaire.py, data dictionary)
    header = [str(h) for h in table.header]
    texts = [_text(data.iloc[:, i]) for i in range(min(len(header), data.shape[1]))]
    full, q_warnings, mp = questionnaire.parse(header, texts, questionnaire.questionnaire_year(rel, header), rel)
    full = full.assign(source_file=rel, source_row=rows.astype("int32"))[~rej.mask].reset_index(drop=True)
    lay.ignored[:] = list(mp.unknown)   # the note «не читаются столбцы» names only the unknown ones
    return {"frames": {"context": df, "context_questionnaire": full, "rejects": rej.frame()}, "rows_read": n,
            "rows_rejected": int(rej.mask.sum()), "meta": {"questionnaire_columns": len(mp.columns)},
            "warnings": q_warnings}


def _parse_template(table, lay, rel, raw_root) -> dict:
    from msoko.dictionary import clean_value, example_row, load_dictionary, typed_frame

    tdef = load_dictionary().table(lay.table)
    data, rows = _simple_rows(table, lay, rel)
    n = len(data)
    rej = _Rejects(rel, n)
    records: dict[str, list] = {}
    arr = data.to_numpy(dtype=object)
    # the blank template's example row, as it reads once cleaned: left in, it is no data
    example = [clean_value(c, ex, cell_text(ex))[0] for c, ex in zip(tdef.columns, example_row(tdef))]
    is_example = np.ones(n, dtype=bool)
    for c, ex in zip(tdef.columns, example):
        ci = lay.columns.get(c.id)
        vals = []
        for i in range(n):
            raw = arr[i, ci] if ci is not None else None
            text = cell_text(raw)
            v, err = clean_value(c, raw, text)
            if err and not rej.mask[i]:
                rej.add([i], [rows[i]], c.header, text, f"«{c.header}»: {err}")
            if is_example[i] and not (v == ex or (v is None and ex is None)):
                is_example[i] = False
            vals.append(v)
        records[c.id] = vals
    for i in np.flatnonzero(is_example & ~rej.mask):
        rej.add([i], [rows[i]], "", "", "строка-образец из пустого шаблона msoko (пример заполнения): "
                "это не данные — удалите её из файла")
    good = ~rej.mask
    records = {k: [v for v, g in zip(vals, good) if g] for k, vals in records.items()}
    df = typed_frame(tdef, records, rel, [int(r) for r, g in zip(rows, good) if g])
    return {"frames": {"template": df, "rejects": rej.frame()}, "rows_read": n,
            "rows_rejected": int(rej.mask.sum()), "meta": {"table": tdef.id}}


def _max_from_scales(vpr: pd.DataFrame, scales: pd.DataFrame, warnings: list) -> np.ndarray:
    """Fill an empty ``max_score`` from the scales' ``max_score`` (the upper bound of «5»).

    Used where the task specification does not match the export (e.g. the autumn-2020
    works have split tasks), so that % of maximum — and the cohort signs — can still be
    computed. A maximum below an observed score is not trusted (stays empty, warning).
    """
    from msoko.marks import load_scales

    out = vpr["max_score"].to_numpy(dtype="float64", na_value=np.nan).copy()
    need = np.isnan(out)
    if not need.any():
        return out
    builtin = load_scales()
    mx = builtin[["year", "grade", "subject", "max_score"]] if "max_score" in builtin else None
    if "max_score" in scales:
        mx = scales[["year", "grade", "subject", "max_score"]] if mx is None else pd.concat(
            [scales[["year", "grade", "subject", "max_score"]].dropna(), mx]).drop_duplicates(
            ["year", "grade", "subject"], keep="first")
    if mx is None:
        return out
    keys = vpr.loc[need, ["year", "grade", "subject"]].astype({"year": "int16", "grade": "int8"})
    cand = keys.merge(mx.astype({"year": "int16", "grade": "int8"}), on=["year", "grade", "subject"],
                      how="left")["max_score"].to_numpy(dtype="float64")
    pos = np.flatnonzero(need)
    sub = vpr.loc[need, ["year", "grade", "subject", "primary_score"]].assign(cand=cand).set_axis(pos)
    for (y, g, s), grp in sub.groupby(["year", "grade", "subject"], sort=True):
        c = grp["cand"].iloc[0]
        if np.isnan(c):
            continue
        obs = grp["primary_score"].max()
        if pd.notna(obs) and obs > c:
            warnings.append(f"ВПР {y}, {g} класс, {s}: наблюдаемый балл {obs:g} выше максимума шкалы {c:g} — "
                            "max_score не заполнен.")
            continue
        out[grp.index.to_numpy()] = c
        warnings.append(f"ВПР {y}, {g} класс, {s}: спецификация не подходит к выгрузке, максимальный балл "
                        f"работы ({c:g}) взят из шкалы отметок.")
    return out


def _parse_scales(table, lay, rel, raw_root) -> dict:
    data, rows = _simple_rows(table, lay, rel)
    rej = _Rejects(rel, len(data))
    recs = []
    for i, (r, row) in enumerate(zip(rows, data.itertuples(index=False, name=None))):
        vals = {f: cell_text(row[c]) for f, c in lay.columns.items()}
        subject = layouts.subject_from_text(vals["subject"])
        try:
            rec = {"year": int(float(vals["year"])), "grade": int(float(vals["grade"])), "subject": subject,
                   **{k: float(vals[k].replace(",", ".")) for k in ("min3", "min4", "min5")},
                   "source": vals.get("source") or rel}
        except ValueError:
            rej.add([i], [r], "min3/min4/min5", " | ".join(vals.values()), "год, класс и границы должны быть числами")
            continue
        if subject is None:
            rej.add([i], [r], table.header[lay.columns["subject"]], vals["subject"], "неизвестный предмет")
            continue
        if not rec["min3"] <= rec["min4"] <= rec["min5"]:
            rej.add([i], [r], "min3/min4/min5", f"{rec['min3']:g} / {rec['min4']:g} / {rec['min5']:g}",
                    "границы отметок должны не убывать: min3 ≤ min4 ≤ min5")
            continue
        recs.append(rec)
    df = pd.DataFrame(recs, columns=["year", "grade", "subject", "min3", "min4", "min5", "source"])
    return {"frames": {"mark_scales": df, "rejects": rej.frame()}, "rows_read": len(data),
            "rows_rejected": int(rej.mask.sum()), "meta": {}}


PARSERS = {"mark_scales": _parse_scales, "vpr2020": _parse_vpr, "vpr2021": _parse_vpr, "task_specs": _parse_specs, "logins": _parse_logins,
           "context": _parse_context, "template": _parse_template}


# ====================================================================== stage 1: one file
class _Done(Exception):
    """A file that is recognised and deliberately not loaded (codifiers)."""


def parse_file(path: str, rel: str, raw_root: str, frag_dir: str) -> dict:
    """Parse one file and store its fragments under ``frag_dir``. Returns a JSON-able meta dict.

    Runs in a worker process. User-fixable problems become a Russian ``message`` with
    status ``skipped``/``error``; an unexpected exception is reported the same way
    (the traceback is not shown to the user), so one file never stops the run. A recognised file
    whose rows cannot be placed (a ВПР export of an unknown subject, year or grade) is ``refused``:
    every row in ``rejects.csv`` with the reason. Every sheet of a workbook is read: the sheets after
    the first that hold data are parsed as their own entries in ``meta["sheets"]`` (file
    «<file> [лист «…»]», fragments in ``frag_dir/sheet<i>``); one that fits no format is refused.
    """
    t0 = time.perf_counter()
    p = Path(path)
    meta = _new_meta(rel)
    fd = Path(frag_dir)
    out_root = fd.parent.parent      # <processed>/_cache/<key> → <processed>
    more_sheets = False
    try:
        if "task_specs" in Path(rel).parts and p.name.lower() != "all.xlsx":
            meta.update(kind="codifier", status="ignored",
                        message="в task_specs читаются только файлы ALL.xlsx (KS/KT — кодификаторы)")
            raise _Done
        table = read_table(p)
        more_sheets = table.sheet is not None
        _parse_table(meta, table, rel, raw_root, fd, out_root)
    except _Done:
        pass
    except OutputError:
        raise                        # stops the run: no other file can be written either
    except layouts.LayoutError as exc:
        meta.update(status="skipped", message=str(exc))
    except MsokoError as exc:
        meta.update(kind="error", status="error", message=str(exc))
    except OSError as exc:  # no permission, a symbolic link to nowhere, a vanished file
        meta.update(kind="error", status="error",
                    message=f"Файл «{rel}» не удалось открыть: {_os_reason(exc)}. Файл пропущен.")
    except Exception as exc:  # noqa: BLE001 — one broken file must not stop the run
        meta.update(kind="error", status="error",
                    message=f"Файл «{rel}»: не удалось обработать ({type(exc).__name__}: {exc}). Файл пропущен.")
    if more_sheets:
        meta["sheets"] = _other_sheets(p, rel, raw_root, fd, out_root)
    meta["seconds"] = round(time.perf_counter() - t0, 3)
    with writing_to(out_root):  # every outcome is cached: the same content gives the same result
        fd.mkdir(parents=True, exist_ok=True)
        write_text_atomic(fd / "meta.json", json.dumps(meta, ensure_ascii=False))  # written last: marks the entry complete
    return meta


def _new_meta(rel: str) -> dict:
    return {"file": rel, "kind": "unknown", "table": None, "rows_read": 0, "rows_rejected": 0,
            "status": "skipped", "message": "", "fragments": [], "notes": [], "info": {}}


def _detect(table, rel: str):
    """The layout of ``table``; a header below title rows (a report heading, a date line above the
    column names) is looked for in the first rows and the table re-cut there, with a note."""
    try:
        return layouts.detect(table.header, rel), None
    except layouts.LayoutError as exc:
        first = exc
    if table.sheet is not None:          # workbooks only: a CSV's first line is its header
        for k, row in enumerate(table.rows[:TITLE_ROWS]):
            header = [clean_header(v) for v in row]
            try:
                lay = layouts.detect(header, rel)
            except layouts.LayoutError:
                continue
            if lay.kind in ("codifier",):
                continue
            shift = k + 1
            old_first = table.first_data_row
            table.header, table.rows = header, table.rows[shift:]
            table.first_data_row = old_first + shift
            if table.errors:
                table.errors = {(r - shift, c): v for (r, c), v in table.errors.items() if r >= shift}
            table.__dict__.pop("_data", None)
            return lay, (f"заголовок таблицы найден в строке {old_first + k} листа «{table.sheet}»; строки выше — "
                         "заголовок документа, не данные")
    if table.encoding == "cp1251":
        raise layouts.LayoutError(
            f"{first} Если заголовки выше выглядят как бессмысленный набор букв, файл сохранён в другой "
            "кодировке: поддерживаются UTF-8 и Windows-1251.") from None
    raise first


TITLE_ROWS = 10   # rows above a header that may be a document title


def _parse_table(meta: dict, table, rel: str, raw_root: str, fd: Path, out_root: Path) -> None:
    """Detect, parse and store one sheet (or CSV file) into ``meta``/``fd``."""
    lay, title_note = _detect(table, rel)
    meta["kind"] = lay.kind
    meta["table"] = lay.table
    if lay.kind == "codifier":
        meta.update(status="ignored", message="кодификатор КЭС/КТ — не используется")
        raise _Done
    parser = PARSERS[lay.kind]
    held, held_warnings = _held_rows(table, lay, rel)
    _hold(table, held)
    refused = None
    try:
        res = parser(table, lay, rel, Path(raw_root))
    except layouts.LayoutError as exc:
        if lay.kind not in ("vpr2020", "vpr2021"):
            raise
        # a recognised export whose rows cannot be placed: read, and every row refused with the reason
        refused = str(exc).replace(" Файл пропущен.", "")
        res = _refuse_rows(table, rel, "путь файла", Path(rel).name,
                           f"{refused} Строка не загружена: неясно, к какой работе ВПР её отнести.")
        res["warnings"] = [f"«{rel}»: выгрузка ВПР прочитана, но все {res['rows_read']} строк отклонены "
                           f"(см. rejects.csv): {refused}"]
    if held:
        _reject_held(res, table, held, held_warnings, rel)
    _store(meta, res, fd, out_root)
    if lay.kind == "template":
        meta["table"] = res["meta"]["table"]
    meta["notes"] = list(dict.fromkeys(lay.notes)) + ([title_note] if title_note else [])
    if lay.ignored:
        meta["notes"].append("не читаются столбцы: " + ", ".join(f"«{h}»" for h in dict.fromkeys(lay.ignored)))
    meta["status"] = "ok"
    if refused is not None:
        meta.update(status="refused", message=f"«{rel}»: все строки отклонены — {refused}")


def _refuse_rows(table, rel: str, column: str, value: str, reason: str) -> dict:
    """Every non-empty row of ``table`` as a reject with ``reason`` (read, none loaded)."""
    rows = np.flatnonzero(table.nonempty()) + table.first_data_row
    rej = pd.DataFrame([(rel, int(r), column, value, reason) for r in rows], columns=REJECT_COLUMNS)
    return {"frames": {"rejects": rej}, "rows_read": len(rows), "rows_rejected": len(rows)}


def _store(meta: dict, res: dict, fd: Path, out_root: Path) -> None:
    with writing_to(out_root):   # a full disk is the output folder's problem, not the input file's
        fd.mkdir(parents=True, exist_ok=True)
        for name, df in res.get("frames", {}).items():
            write_parquet(df, fd / f"{name}.parquet")
            meta["fragments"].append(name)
        for name, tbl in res.get("arrow", {}).items():
            with atomic_path(fd / f"{name}.parquet") as tmp:
                pq.write_table(tbl, tmp, compression="snappy")
            meta["fragments"].append(name)
    meta["rows_read"] = int(res["rows_read"])
    # what the parser saw; rows_read may be more (an independent count: rows a CSV quote swallowed)
    meta["rows_parsed"] = int(res.get("rows_parsed", res["rows_read"]))
    meta["rows_rejected"] = int(res["rows_rejected"])
    meta["info"] = res.get("meta", {})
    meta["warnings"] = list(res.get("warnings", []))   # printed with the run's warnings


def _other_sheets(p: Path, rel: str, raw_root: str, fd: Path, out_root: Path) -> list[dict]:
    """The sheets after the first that hold anything: each parsed as its own entry; a sheet that fits
    no known format has all its rows refused, named (never dropped in silence)."""
    from msoko.readers import read_excel, sheet_names

    out = []
    try:
        names = sheet_names(p)
    except Exception:  # noqa: BLE001 — the first sheet was read; its outcome stands
        return out
    for i in range(1, len(names)):
        if names[i] is None:            # a chart sheet: no rows to lose
            continue
        label = f"{rel} [лист «{names[i]}»]"
        sub = _new_meta(label)
        sub["dir"] = f"sheet{i}"
        try:
            table = read_excel(p, sheet=i)
        except MsokoError:
            continue                    # an empty sheet: nothing to read, nothing lost
        except Exception as exc:  # noqa: BLE001
            sub.update(kind="error", status="error", message=f"«{label}»: не удалось прочитать лист ({exc}).")
            out.append(sub)
            continue
        try:
            _parse_table(sub, table, label, raw_root, fd / sub["dir"], out_root)
        except _Done:
            pass
        except OutputError:
            raise
        except layouts.LayoutError as exc:
            # a data sheet of no known format: its header row counts as the header, its rows are refused
            why = str(exc).replace(f"Файл «{p.name}»", f"Лист «{names[i]}» файла «{p.name}»") \
                .replace(" Файл пропущен, загрузка продолжается.", "").replace(" Файл пропущен.", "")
            res = _refuse_rows(table, label, "лист", names[i],
                               f"лист «{names[i]}» не прочитан: {why} Перенесите его данные в отдельный файл "
                               "или на первый лист в формате выгрузки ВПР или шаблона msoko.")
            _store(sub, res, fd / sub["dir"], out_root)
            if not res["rows_read"]:
                sub.update(status="skipped", message=f"«{label}»: лист не распознан и строк данных в нём нет — "
                                                     "пропущен")
                out.append(sub)
                continue
            sub.update(status="refused", message=f"«{label}»: лист не распознан, его строки ({res['rows_read']}) "
                                                 f"отклонены — {why}")
        except MsokoError as exc:
            sub.update(kind="error", status="error", message=str(exc))
        except Exception as exc:  # noqa: BLE001
            sub.update(kind="error", status="error",
                       message=f"«{label}»: не удалось обработать ({type(exc).__name__}: {exc}).")
        out.append(sub)
    return out


@dataclass
class _Held:
    """A row no parser may see: rejected as a whole, with ``reason``; ``lost`` lines of the file it
    swallowed count as read but neither loaded nor rejected (the file does not balance)."""
    row: int
    column: int
    value: str
    reason: str
    lost: list[int] = field(default_factory=list)


def _lines_text(lines: list[int]) -> str:
    return f"{lines[0]}–{lines[-1]}" if len(lines) > 1 and lines[-1] - lines[0] == len(lines) - 1 \
        else ", ".join(map(str, lines))


def _held_rows(table, lay, rel: str) -> tuple[list[_Held], list[str]]:
    """Rows to hold back from the parser, with the warnings to print: a CSV row whose unclosed quote
    swallowed later rows (``readers.swallowed_rows``); a row with an Excel error value (#N/A, #DIV/0! …)
    in a column that is read (the reader returns such a cell as '': it would pass for an empty cell)."""
    held: dict[int, _Held] = {}
    warnings = []
    for sw in table.swallowed or []:
        value = str(table.rows[sw.row][sw.column])[:200].replace("\r", " ").replace("\n", " ⏎ ")
        held[sw.row] = _Held(sw.row, sw.column, value,
                             f"незакрытая кавычка в ячейке (строка {sw.line} файла): в неё попали строки "
                             f"{_lines_text(sw.lines)} файла ({len(sw.lines)}) — строка не загружена", sw.lines)
        warnings.append(f"«{rel}»: незакрытая кавычка в строке {sw.line} (столбец «{_head(table, sw.column)}») "
                        f"поглотила строки {_lines_text(sw.lines)} файла ({len(sw.lines)} стр.): они не загружены "
                        "и не отклонены, баланс файла не сходится. Закройте кавычку (или уберите её) и загрузите "
                        "файл заново.")
    if table.errors:
        from openpyxl.utils import get_column_letter

        read = set(lay.columns.values()) | {ci for _, ci in lay.tasks}
        bad = sorted((r, c, v) for (r, c), v in table.errors.items() if c in read)
        for r, c, v in bad:
            if r in held:
                continue
            cell = f"{get_column_letter(c + 1)}{table.first_data_row + r}"
            if v.startswith("="):   # a formula the program that saved the file did not compute: no value
                held[r] = _Held(r, c, v, f"формула «{v}» в ячейке {cell} без вычисленного значения (файл сохранён "
                                         "программой, которая не вычисляет формулы) — строка не загружена: пустой "
                                         "ячейкой она не считается; откройте и сохраните файл в Excel или впишите значение")
            else:
                held[r] = _Held(r, c, v, f"ошибка Excel «{v}» в ячейке {cell} вместо значения (формула не вычислена) — "
                                         "строка не загружена; исправьте формулу или впишите значение")
        errs = [(r, c, v) for r, c, v in bad if not v.startswith("=")]
        formulas = [(r, c, v) for r, c, v in bad if v.startswith("=")]
        if errs:
            kinds = ", ".join(sorted({v for _, _, v in errs}))
            warnings.append(f"«{rel}»: ошибки Excel ({kinds}) вместо значений, ячеек: {len(errs)}; "
                            f"отклонено строк: {len({r for r, _, _ in errs})} (см. rejects.csv).")
        if formulas:
            warnings.append(f"«{rel}»: формулы без вычисленного значения (файл сохранён программой, которая не "
                            f"вычисляет формулы), ячеек: {len(formulas)}; отклонено строк: "
                            f"{len({r for r, _, _ in formulas})} (см. rejects.csv). Откройте и сохраните файл в Excel.")
    return sorted(held.values(), key=lambda h: h.row), warnings


def _head(table, column: int) -> str:
    return table.header[column] if column < len(table.header) else f"столбец {column + 1}"


def _hold(table, held: list[_Held]) -> None:
    """Blank the held rows, so that the parser skips them as empty (their row numbers stay)."""
    for h in held:
        table.rows[h.row] = [""] * len(table.rows[h.row])
    table.__dict__.pop("_data", None)


def _reject_held(res: dict, table, held: list[_Held], warnings: list[str], rel: str) -> None:
    """The held rows become rejects; the lines they swallowed count as read (an independent count of
    the file's lines), not as loaded or rejected."""
    recs = [(rel, int(table.first_data_row + h.row), _head(table, h.column), h.value, h.reason) for h in held]
    frames = res.setdefault("frames", {})
    extra = pd.DataFrame(recs, columns=REJECT_COLUMNS)
    before = frames.get("rejects")
    frames["rejects"] = extra if before is None or not len(before) else pd.concat([before, extra], ignore_index=True)
    res["rows_parsed"] = int(res["rows_read"]) + len(recs)
    res["rows_read"] = res["rows_parsed"] + sum(len(h.lost) for h in held)
    res["rows_rejected"] = int(res["rows_rejected"]) + len(recs)
    res.setdefault("warnings", []).extend(warnings)


def _os_reason(exc: OSError) -> str:
    import errno

    if isinstance(exc, PermissionError):
        return "нет прав на чтение"
    if exc.errno == errno.ENOENT:
        return "файл не найден (возможно, символическая ссылка ведёт в никуда или файл удалён во время загрузки)"
    if exc.errno == errno.ELOOP:
        return "символические ссылки образуют цикл"
    return f"ошибка ввода-вывода ({exc.strerror or exc})"


def _parse_file_star(args):
    return parse_file(*args)


# ====================================================================== walking the raw folder
def discover(raw_dir: Path, notes: list[str] | None = None) -> list[Path]:
    """Supported input files under ``raw_dir``, in a stable order.

    Symbolic links are followed (a ``vpr_results`` that is a link to a shared disk is read); each
    real folder is walked once, so a link to a folder already walked — a cycle of links included —
    is skipped, with a note in ``notes``. Paths keep the link names (``rel`` is as the user sees it).
    """
    out = []
    seen = {os.path.realpath(raw_dir)}
    def unreadable(exc: OSError) -> None:
        if notes is not None:
            notes.append(f"Папку «{exc.filename}» не удалось прочитать ({_os_reason(exc)}) — её файлы не загружены.")

    for root, dirs, files in os.walk(raw_dir, followlinks=True, onerror=unreadable):
        keep = []
        for d in sorted(dirs):
            if d.startswith(("_", ".")):
                continue
            full = os.path.join(root, d)
            real = os.path.realpath(full)
            if real in seen:
                if notes is not None:
                    rel = Path(full).relative_to(raw_dir).as_posix()
                    notes.append(f"Папка «{rel}» — символическая ссылка на уже просмотренную папку «{real}» "
                                 "(повтор или цикл ссылок): второй раз не читается.")
                continue
            seen.add(real)
            keep.append(d)
        dirs[:] = keep
        for f in sorted(files):
            if f.startswith((".", "~$")):
                continue
            p = Path(root) / f
            if not is_supported(p):
                continue
            what = _special_file(p)
            if what:   # opening a named pipe blocks until someone writes to it: a nightly run would hang
                if notes is not None:
                    notes.append(f"«{p.relative_to(raw_dir).as_posix()}» — {what}, а не обычный файл: не открывается "
                                 "и не загружается.")
                continue
            out.append(p)
    return out


def _special_file(p: Path) -> str | None:
    """What ``p`` is when it is not a regular file (a named pipe, a socket, a device), in Russian."""
    import stat

    try:
        mode = os.stat(p).st_mode    # follows links: a link to a pipe is a pipe; stat never blocks
    except OSError:
        return None                  # parse_file says why it cannot be opened
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "именованный канал (FIFO)"
    if stat.S_ISSOCK(mode):
        return "сокет"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "устройство"
    return "не обычный файл"


# ====================================================================== stage 2: assemble
_META_KEYS = {"file", "kind", "status", "rows_read", "fragments"}


def _load_meta(entry: Path, rel: str, notes: list[str]) -> dict | None:
    """The cached result of one file, or ``None`` when there is none or it is damaged.

    A damaged entry (an empty or unreadable ``meta.json``, a missing fragment — e.g. after a crash
    or a full disk) is discarded with a Russian note; the file is then parsed again.
    """
    mp = entry / "meta.json"
    if not mp.exists():
        return None
    try:
        m = json.loads(mp.read_text(encoding="utf-8"))
        if not isinstance(m, dict) or not _META_KEYS <= set(m):
            raise ValueError("не хватает полей")
        missing = [f for f in m["fragments"] if not (entry / f"{f}.parquet").is_file()
                   or (entry / f"{f}.parquet").stat().st_size == 0]
        if missing:
            raise ValueError("нет фрагментов " + ", ".join(missing))
    except (OSError, ValueError, TypeError) as exc:
        notes.append(f"Кэш разбора файла «{rel}» повреждён ({mp}: {exc}) — кэш удалён, файл разобран заново.")
        shutil.rmtree(entry, ignore_errors=True)
        return None
    return m


def _read_frag(cache: Path, key: str, name: str) -> pd.DataFrame:
    return pd.read_parquet(cache / key / f"{name}.parquet")


def _org_type(name: str | None, correctional=None, evening=None) -> str | None:
    if not name:
        return None
    t = name.lower().replace("ё", "е")
    if "кадетск" in t and "интернат" in t:
        return "КШИ"
    if correctional is True or "ограниченными возможностями" in t or "коррекц" in t or "овз" in t:
        return "коррекционная школа"
    if evening is True or "вечерн" in t or "сменн" in t:
        return "вечерняя школа"
    if "гимнази" in t:
        return "гимназия"
    if "лице" in t:
        return "лицей"
    if "уиоп" in t or "углубленн" in t:
        return "СОШ с УИОП"
    if "сош" in t or "средняя" in t:
        return "СОШ"
    if "оош" in t or "основная" in t:
        return "ООШ"
    if "нош" in t or "начальная" in t:
        return "НОШ"
    if "детский сад" in t or "доу" in t or "д/с" in t:
        return "ДОУ"
    if "дополнительного образования" in t or "цдт" in t or "дом детского" in t or "удо" in t:
        return "УДО"
    if "интернат" in t:
        return "коррекционная школа" if correctional else None
    return None


def build_schools(logins: pd.DataFrame | None, context: pd.DataFrame | None,
                  registry: pd.DataFrame | None) -> pd.DataFrame:
    """schools.parquet: logins (name, municipality) + context questionnaire; the registry template wins."""
    base = pd.DataFrame({"school_id": pd.Series([], dtype=object)})
    parts = [d[["school_id"]] for d in (logins, context, registry) if d is not None and len(d)]
    if parts:
        base = pd.concat(parts).drop_duplicates().reset_index(drop=True)
    s = base.copy()
    if logins is not None and len(logins):
        s = s.merge(logins[["school_id", "name", "municipality"]], on="school_id", how="left")
    else:
        s["name"] = None
        s["municipality"] = None
    if context is not None and len(context):
        ctx = context.drop(columns=["source_file", "source_row"], errors="ignore")
        s = s.merge(ctx, on="school_id", how="left")
        s["name"] = s["name"].where(s["name"].notna(), s["name_short"])
    for c in SCHOOL_COLUMNS:
        if c not in s.columns:
            s[c] = None
    corr = s["is_correctional"] if "is_correctional" in s else pd.Series([None] * len(s))
    eve = s["is_evening"] if "is_evening" in s else pd.Series([None] * len(s))
    names = s["name_full"].where(s["name_full"].notna() & (s["name_full"] != ""), s["name"])
    s["org_type"] = [_org_type(nm if isinstance(nm, str) else None,
                               bool(c) if c is not pd.NA and c is not None else None,
                               bool(e) if e is not pd.NA and e is not None else None)
                     or _org_type(n2 if isinstance(n2, str) else None)
                     for nm, c, e, n2 in zip(names, corr, eve, s["name"])]
    if registry is not None and len(registry):
        reg = registry.set_index("school_id")
        s = s.set_index("school_id")
        for c in ["name", "municipality", "org_type", "settlement_type", "settlement"]:
            if c in reg.columns:
                vals = reg[c].reindex(s.index)
                s[c] = vals.where(vals.notna() & (vals.astype(str) != ""), s[c])
        s = s.reset_index()
    s["is_preschool"] = (s["org_type"] == "ДОУ").astype(bool)
    s["students_total"] = pd.array(pd.to_numeric(s["students_total"], errors="coerce"), dtype="Float64").round().astype("Int32")
    s["teachers_total"] = pd.array(pd.to_numeric(s["teachers_total"], errors="coerce"), dtype="Float64").round().astype("Int32")
    for c in ["is_correctional", "is_evening", "is_boarding"]:
        s[c] = pd.array(s[c], dtype="boolean")
    s = s[SCHOOL_COLUMNS].sort_values("school_id").reset_index(drop=True)
    for c in ["school_id", "name", "municipality", "org_type", "settlement_type", "settlement",
              "settlement_size", "legal_form", "name_full"]:
        s[c] = s[c].astype(object).where(s[c].notna(), None)
    return s


def _first_logins(logins: pd.DataFrame, rejects: list[pd.DataFrame], warnings: list[str]) -> pd.DataFrame:
    """One row per login across several logins files: the first (by file name) is loaded; every later
    row is a reject naming the row it repeats, and one that disagrees on the name or municipality is a
    conflict (each value named) with a warning per file — never a silent drop."""
    dup = logins.duplicated("school_id", keep="first").to_numpy()
    if not dup.any():
        return logins
    first = logins[~dup].set_index("school_id")
    recs, conflicts = [], {}
    for r in logins[dup].itertuples(index=False):
        f = first.loc[r.school_id]
        where = f"строки {int(f.source_row)} файла «{f.source_file}»"
        diff = [f"{what} «{b}», а там «{a}»" for what, a, b in
                (("название", f["name"], r.name), ("муниципалитет", f["municipality"], r.municipality)) if a != b]
        if diff:
            reason = (f"логин уже загружен из {where} с другими данными: здесь {'; '.join(diff)} — "
                      "взята первая строка; исправьте расхождение в одном из файлов")
            key = (r.source_file, f.source_file)
            conflicts[key] = conflicts.get(key, 0) + 1
        else:
            reason = f"повтор логина: тот же логин с теми же названием и муниципалитетом уже загружен из {where}"
        recs.append((r.source_file, int(r.source_row), "логин", r.school_id, reason))
    rejects.append(pd.DataFrame(recs, columns=REJECT_COLUMNS))
    for (file, other), n in sorted(conflicts.items()):
        warnings.append(f"«{file}»: логины, уже загруженные из «{other}» с другим названием или муниципалитетом "
                        f"(строк: {n}), — взяты данные «{other}», эти строки «{file}» отклонены (см. rejects.csv).")
    return logins[~dup]


@dataclass
class _Assembly:
    """What the steps of :func:`assemble` share: the parsed fragments, where they go, and what they found."""
    metas: list[dict]
    cache: Path
    processed: Path
    ok: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra_rejects: list[pd.DataFrame] = field(default_factory=list)
    reject_rows: dict[str, set] = field(default_factory=dict)   # ВПР file → rows rejected after parsing

    def frags(self, kind=None, table=None) -> list[dict]:
        return [m for m in self.ok if (kind is None or m["kind"] == kind) and (table is None or m["table"] == table)]

    def cat(self, kind, name, table=None) -> pd.DataFrame | None:
        fs = [_read_frag(self.cache, m["key"], name) for m in self.frags(kind, table)]
        return pd.concat(fs, ignore_index=True) if fs else None

    def reject(self, rdf: pd.DataFrame, vpr_file: str | None = None) -> None:
        self.extra_rejects.append(rdf)
        if vpr_file is not None:
            self.reject_rows.setdefault(vpr_file, set()).update(int(r) for r in rdf["row"])

    def drop_table(self, name: str) -> None:
        """A table of the last run that this run does not make (not left for compute to read as current)."""
        if table_path(self.processed, name).exists():
            table_path(self.processed, name).unlink()


def assemble(metas: list[dict], cache: Path, processed: Path, progress: bool) -> tuple[list[FileReport], list[str]]:
    """Every parsed fragment into the processed tables, in named steps: task specifications, the registry
    (schools), the ВПР works (checked against the specifications and the registry, repeats rejected, marks
    given), textbooks, task scores, msoko templates, then rejects, the cleaning log and the balance."""
    a = _Assembly(metas, cache, processed, ok=sorted((m for m in metas if m["status"] == "ok"), key=lambda m: m["file"]))
    specs = _assemble_specs(a)
    spec_max = {k: dict(zip(g["task"], g["max_score"])) for k, g in specs.groupby(["grade", "subject"])} \
        if len(specs) else {}
    known, have_registry, registry = _assemble_schools(a)
    vpr_metas = sorted(a.frags("vpr2020") + a.frags("vpr2021"), key=lambda m: m["file"])
    parts = [_vpr_file(a, m, spec_max, known, have_registry) for m in vpr_metas]
    vpr = pd.concat(parts, ignore_index=True) if parts else \
        pd.DataFrame({c: pd.Series([], dtype=object) for c in VPR_COLUMNS})
    if len(vpr):
        vpr = _vpr_marks(a, _vpr_repeats(a, vpr))
    write_table(_vpr_typed(vpr), processed, "vpr")
    _write_textbooks(a, vpr_metas)
    _write_tasks(a, vpr_metas)
    spec_out = specs.reindex(columns=SPEC_COLUMNS) if len(specs) else pd.DataFrame(
        {c: pd.Series([], dtype=object) for c in SPEC_COLUMNS})
    write_table(spec_out.astype({"grade": "int8", "max_score": "float64"}).reset_index(drop=True), processed,
                "task_specs")
    _assemble_templates(a, known, have_registry or registry is not None)
    return _rejects_and_balance(a, vpr), a.warnings


def _assemble_specs(a: _Assembly) -> pd.DataFrame:
    """Task specifications of every grade × subject (a repeated task: the first file wins), in task order."""
    spec_frames = [_read_frag(a.cache, m["key"], "task_specs") for m in a.frags("task_specs")]
    specs = pd.concat(spec_frames, ignore_index=True) if spec_frames else pd.DataFrame(columns=SPEC_COLUMNS)
    if len(specs):
        dup = specs.duplicated(["grade", "subject", "task"], keep="first")
        if dup.any():
            a.warnings.append(f"Спецификации заданий: {int(dup.sum())} повторов (класс, предмет, задание) — взяты первые.")
            specs = specs[~dup]
    if len(specs):
        specs = specs.astype({"grade": "int8", "max_score": "float64"})
        order = pd.to_numeric(specs["task"], errors="coerce")
        specs = specs.assign(_o=order).sort_values(["grade", "subject", "_o", "task"], kind="stable") \
            .drop(columns="_o").reset_index(drop=True)
    return specs


def _assemble_schools(a: _Assembly) -> tuple[set, bool, pd.DataFrame | None]:
    """schools.parquet from logins, the context questionnaires and the registry template (and
    context_questionnaire.parquet); returns the known logins, whether a registry was given, the registry."""
    logins = a.cat("logins", "logins")
    context = a.cat("context", "context")
    registry = a.cat("template", "template", "registry")
    if logins is not None:
        logins = _first_logins(logins, a.extra_rejects, a.warnings)
    if context is not None:  # several questionnaires (context_2021, context_2022, …): the last file wins
        context = context.drop_duplicates("school_id", keep="last")
    questionnaires = a.cat("context", "context_questionnaire")
    if questionnaires is not None:  # every year kept; one row per (year, school): the last file wins
        questionnaires = questionnaires.drop_duplicates(["year", "school_id"], keep="last").reset_index(drop=True)
        write_table(questionnaires, a.processed, "context_questionnaire")
    else:
        a.drop_table("context_questionnaire")
    if registry is not None:
        d = registry.duplicated("school_id")
        for r in registry[d].itertuples():
            a.reject(pd.DataFrame([(r.source_file, r.source_row, "Логин ОО", r.school_id,
                                    "повтор ключа: логин уже есть в реестре")], columns=REJECT_COLUMNS))
        registry = registry[~d]
    schools = build_schools(logins, context, registry)
    known = set(schools["school_id"]) if len(schools) else set()
    have_registry = logins is not None or registry is not None
    if not have_registry and a.frags("vpr2020") + a.frags("vpr2021"):
        a.warnings.append("Нет реестра школ (logins.xlsx или шаблон «Реестр образовательных организаций»): "
                          "проверка неизвестных логинов пропущена, названия и муниципалитеты школ неизвестны.")
    write_table(schools, a.processed, "schools")
    return known, have_registry, registry


def _vpr_over_max(a: _Assembly, m: dict, v: pd.DataFrame, spec: dict) -> list[tuple]:
    """The maximum score of one ВПР file by its specification: sets ``max_score`` of ``v`` and returns the
    rejects of task scores above the maximum. A maximum exceeded by many participants is an error of the
    specification, not of the rows (the real specs have a few): the rows are kept, the observed maximum
    used and a warning given."""
    info, rel = m["info"], m["file"]
    eff = dict(spec)
    hist = info.get("score_hist", {})
    counts = {tk: sum(c for sc, c in hist.get(tk, []) if sc > spec[tk] + 1e-9) for tk in spec}
    counts = {tk: c for tk, c in counts.items() if c}
    over = pd.DataFrame(columns=["task", "score", "source_row"])
    if counts:
        limit = max(SPEC_SUSPECT_MIN_ROWS, SPEC_SUSPECT_SHARE * info.get("n_present", 0))
        suspect = [tk for tk, c in counts.items() if c > limit]
        for tk in suspect:
            obs = max(sc for sc, _ in hist[tk])
            eff[tk] = obs
            a.warnings.append(
                f"«{rel}»: балл за задание {tk} выше максимума спецификации ({spec[tk]:g}) у {int(counts[tk])} "
                f"участников — вероятно, ошибка спецификации ({info['grade']} класс, {info['subject']}); "
                f"строки не отклонены, принят наблюдаемый максимум {obs:g}.")
        if set(counts) - set(suspect):   # rare: read this file's task scores to find the rows
            t = pq.read_table(a.cache / m["key"] / "tasks.parquet", columns=["task", "score", "source_row"]).to_pandas()
            t["task"] = t["task"].astype(str)
            mx = t["task"].map(spec).astype("float64")
            over = t[(t["score"] > mx + 1e-9) & ~t["task"].isin(suspect)]
    v["max_score"] = float(sum(eff.values()))
    if not len(over):
        return []
    heads = dict(zip(info["tasks"], info["task_headers"]))
    return [(rel, int(r.source_row), heads.get(r.task, r.task), f"{r.score:g}",
             f"балл за задание {r.task} = {r.score:g} больше максимума {spec[r.task]:g} по спецификации")
            for r in over.drop_duplicates("source_row").itertuples(index=False)]


def _vpr_file(a: _Assembly, m: dict, spec_max: dict, known: set, have_registry: bool) -> pd.DataFrame:
    """One ВПР file's works: checked against the specification (maximum score) and the registry (known
    logins); the rows that fail are rejected with their school."""
    v = _read_frag(a.cache, m["key"], "vpr")
    info, rel = m["info"], m["file"]
    rej_recs: list[tuple] = []
    spec = spec_max.get((info["grade"], info["subject"]))
    if spec is not None and set(info["tasks"]) == set(spec):
        rej_recs += _vpr_over_max(a, m, v, spec)
    elif not len(v):
        pass
    elif spec is not None:
        a.warnings.append(f"«{rel}»: задания выгрузки ({len(info['tasks'])}) не совпадают со спецификацией "
                          f"{info['grade']} класс, {info['subject']} ({len(spec)}) — проверка максимального балла "
                          "пропущена, max_score не заполнен.")
    else:
        a.warnings.append(f"«{rel}»: нет спецификации заданий для {info['grade']} класс, {info['subject']} — "
                          "проверка максимального балла пропущена, max_score не заполнен.")
    if have_registry:
        unk = ~v["school_id"].isin(known)
        for r in v[unk].itertuples(index=False):
            rej_recs.append((rel, int(r.source_row), "логин школы", r.school_id,
                             f"логин ОО «{r.school_id}» не найден в реестре школ (logins.xlsx / шаблон registry)"))
    if rej_recs:
        rdf = pd.DataFrame(rej_recs, columns=REJECT_COLUMNS).drop_duplicates("row")
        # the school of each rejected ВПР row: a concentration on one school is a finding (msoko.municipalities)
        rdf["school_id"] = rdf["row"].map(v.drop_duplicates("source_row").set_index("source_row")["school_id"])
        a.reject(rdf, rel)
        v = v[~v["source_row"].isin(rdf["row"])]
    return v


def _vpr_repeats(a: _Assembly, vpr: pd.DataFrame) -> pd.DataFrame:
    """A work loaded twice (year, grade, subject, school, pupil's code): the later rows rejected, naming the first."""
    keycols = ["year", "grade", "subject", "school_id", "student_code"]
    dup = vpr.duplicated(keycols, keep="first")
    if not dup.any():
        return vpr
    first = vpr[vpr.duplicated(keycols, keep=False) & ~dup].set_index(keycols)[["source_file", "source_row"]]
    d = vpr[dup]
    ref = first.reindex(pd.MultiIndex.from_frame(d[keycols]))
    recs = [(f, int(r), "код обучающегося", code,
             f"повтор ключа (год, класс, предмет, школа, код): та же работа уже загружена из строки {int(fr)} файла «{ff}»")
            for f, r, code, ff, fr in zip(d["source_file"], d["source_row"], d["student_code"],
                                          ref["source_file"], ref["source_row"])]
    rdf = pd.DataFrame(recs, columns=REJECT_COLUMNS).assign(school_id=d["school_id"].to_numpy())
    a.extra_rejects.append(rdf)
    for f, r in zip(rdf["file"], rdf["row"]):
        a.reject_rows.setdefault(f, set()).add(int(r))
    return vpr[~dup].reset_index(drop=True)


def _vpr_marks(a: _Assembly, vpr: pd.DataFrame) -> pd.DataFrame:
    """Marks and maximum scores from the mark scales (the raw folder's scales win over the built-in ones)."""
    from msoko.marks import assign_marks, load_scales

    scales = load_scales()
    raw_scales = [_read_frag(a.cache, m["key"], "mark_scales") for m in a.frags("mark_scales")]
    raw_scales = [r for r in raw_scales if len(r)]
    if raw_scales:
        extra = pd.concat(raw_scales, ignore_index=True).astype({"year": "int16", "grade": "int8"})
        extra = extra.drop_duplicates(["year", "grade", "subject"], keep="last")
        scales = pd.concat([scales, extra], ignore_index=True).drop_duplicates(
            ["year", "grade", "subject"], keep="last")     # the raw folder's scales win
    marks, no_scale = assign_marks(vpr, scales)
    vpr["mark"] = marks.to_numpy()
    vpr["max_score"] = _max_from_scales(vpr, scales, a.warnings)
    for y, g, s in no_scale:
        a.warnings.append(f"Нет шкалы перевода в отметку для ВПР {y}, {g} класс, {s} — отметка не рассчитана "
                          "(добавьте шкалу в msoko/resources/mark_scales.csv).")
    return vpr


def _vpr_typed(vpr: pd.DataFrame) -> pd.DataFrame:
    """vpr.parquet's columns and types (docs/architecture.md)."""
    vpr = vpr.reindex(columns=VPR_COLUMNS)
    vpr = vpr.astype({"year": "int16", "grade": "int8", "absent": "bool", "primary_score": "float64",
                      "max_score": "float64", "source_row": "int32"})
    vpr["journal_mark"] = vpr["journal_mark"].astype("Int8")
    vpr["mark"] = vpr["mark"].astype("Int8")
    for c in ["subject", "school_id", "student_code", "sex", "class", "variant", "source_file"]:
        vpr[c] = vpr[c].astype(object).where(vpr[c].notna(), None)
    return vpr


def _write_textbooks(a: _Assembly, vpr_metas: list[dict]) -> None:
    """Each pupil's textbook (2021 layout), rows of the loaded works only."""
    tb_parts = []
    for m in vpr_metas:
        if "textbooks" not in m.get("fragments", []):
            continue
        tb = _read_frag(a.cache, m["key"], "textbooks")
        bad = a.reject_rows.get(m["file"])
        if bad:
            tb = tb[~tb["source_row"].isin(bad)]
        info = m["info"]
        tb_parts.append(tb.assign(year=int(info["year"]), grade=int(info["grade"]), subject=info["subject"]))
    if tb_parts:
        tbs = pd.concat(tb_parts, ignore_index=True)
        tbs = tbs[["year", "grade", "subject", "school_id", "student_code", "textbook", "other_author", "other_title"]]
        write_table(tbs.astype({"year": "int16", "grade": "int8"}).reset_index(drop=True), a.processed, "vpr_textbooks")
    else:
        a.drop_table("vpr_textbooks")


def _write_tasks(a: _Assembly, vpr_metas: list[dict]) -> None:
    """vpr_tasks.parquet streamed fragment by fragment (tens of millions of rows on a region), without the
    rows rejected after parsing."""
    out = table_path(a.processed, "vpr_tasks")
    dict_schema = pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), pa.string()))
                             if f.type == pa.string() else f for f in TASK_SCHEMA])
    # dictionary-encoded columns are written as they are (fast); without the stored Arrow schema
    # every reader gets plain strings, as the contract says
    with atomic_path(out) as tmp, pq.ParquetWriter(tmp, dict_schema, compression="snappy",
                                                    store_schema=False) as writer:
        for m in vpr_metas:
            t = pq.read_table(a.cache / m["key"] / "tasks.parquet")
            bad = a.reject_rows.get(m["file"])
            if bad:
                import pyarrow.compute as pc
                mask = pc.invert(pc.is_in(t["source_row"], value_set=pa.array(sorted(bad), type=t["source_row"].type)))
                t = t.filter(mask)
            if t.num_rows:
                writer.write_table(t.drop_columns(["source_row"]).cast(dict_schema))


def _template_rejects(tdef, df: pd.DataFrame, known: set, check_logins: bool) -> tuple[pd.DataFrame, list[tuple]]:
    """One msoko template's rows checked: unknown logins, unknown indicator codes, repeated keys."""
    recs = []
    if tdef.id != "registry" and tdef.school_ref and check_logins:
        col = tdef.school_ref
        unk = df[col].notna() & ~df[col].isin(known)
        header = tdef.column(col).header
        for r in df[unk].itertuples(index=False):
            recs.append((r.source_file, int(r.source_row), header, getattr(r, col),
                         f"логин «{getattr(r, col)}» не найден в реестре (logins.xlsx / шаблон registry)"))
        df = df[~unk]
    if "indicator" in {c.id for c in tdef.columns}:   # measures: the code must be in the catalogue
        codes = indicator_codes()
        header = tdef.column("indicator").header
        unk = df["indicator"].notna() & ~df["indicator"].isin(codes)
        for r in df[unk].itertuples(index=False):
            recs.append((r.source_file, int(r.source_row), header, r.indicator,
                         _unknown_indicator(str(r.indicator), codes)))
        df = df[~unk]
    if tdef.key and tdef.id != "registry":
        dup = df.duplicated(tdef.key, keep="first")
        keyh = ", ".join(tdef.column(k).header for k in tdef.key)
        for r in df[dup].itertuples(index=False):
            recs.append((r.source_file, int(r.source_row), keyh,
                         " | ".join(str(getattr(r, k)) for k in tdef.key),
                         f"повтор ключа ({keyh}) — строка с таким ключом уже загружена"))
        df = df[~dup]
    return df, recs


def _assemble_templates(a: _Assembly, known: set, check_logins: bool) -> None:
    """Every table of the data dictionary (an empty one when no template was given)."""
    from msoko.dictionary import empty_frame, load_dictionary

    for tdef in load_dictionary().tables:
        fs = [_read_frag(a.cache, m["key"], "template") for m in a.frags("template", tdef.id)]
        if not fs:
            write_table(empty_frame(tdef), a.processed, tdef.id)
            continue
        df, recs = _template_rejects(tdef, pd.concat(fs, ignore_index=True), known, check_logins)
        if recs:
            a.reject(pd.DataFrame(recs, columns=REJECT_COLUMNS))
        write_table(df.reset_index(drop=True), a.processed, tdef.id)


def _rejects_and_balance(a: _Assembly, vpr: pd.DataFrame) -> list[FileReport]:
    """rejects.csv, cleaning_log.csv and the balance per file, cross-checked against the ВПР rows written
    (rows are never lost silently)."""
    rej_parts = [_read_frag(a.cache, m["key"], "rejects") for m in a.metas
                 if m["status"] in ("ok", "refused") and "rejects" in m["fragments"]]
    rej_parts += a.extra_rejects
    rejects = pd.concat([r for r in rej_parts if len(r)], ignore_index=True) if any(len(r) for r in rej_parts) \
        else pd.DataFrame(columns=REJECT_COLUMNS)
    # ``school_id``: known for the ВПР rows rejected after parsing (over the maximum, unknown login, repeats)
    rejects = rejects.reindex(columns=REJECT_COLUMNS + ["school_id"]).sort_values(["file", "row"], kind="stable")
    write_csv(rejects, a.processed / "rejects.csv")
    cl_parts = [_read_frag(a.cache, m["key"], "cleaning") for m in a.ok if "cleaning" in m["fragments"]]
    cleaning = pd.concat([c for c in cl_parts if len(c)], ignore_index=True) if any(len(c) for c in cl_parts) \
        else pd.DataFrame(columns=CLEANING_COLUMNS)
    write_csv(cleaning, a.processed / "cleaning_log.csv")

    rej_count = rejects.groupby("file").size().to_dict() if len(rejects) else {}
    reports = []
    for m in sorted(a.metas, key=lambda m: m["file"]):
        rr = int(rej_count.get(m["file"], 0))
        read = int(m["rows_read"])
        parsed = int(m.get("rows_parsed", read))  # less than read: rows no parser saw (swallowed by a quote)
        reports.append(FileReport(file=m["file"], kind=m["kind"], table=m.get("table"), rows_read=read,
                                  rows_written=parsed - rr if m["status"] == "ok" else 0,
                                  rows_rejected=rr, status=m["status"], message=m.get("message", "")))
    written = vpr.groupby("source_file").size().to_dict() if len(vpr) else {}
    for r in reports:
        if r.kind in ("vpr2020", "vpr2021") and r.status == "ok":
            actual = int(written.get(r.file, 0))
            if actual != r.rows_written:
                a.warnings.append(f"«{r.file}»: баланс не сходится: записано {actual}, ожидалось {r.rows_written}.")
                r.rows_written = actual
    return reports


def indicator_codes() -> set[str]:
    """The codes of the indicator catalogue (resources/indicator_catalogue.csv)."""
    with resources.files("msoko.resources").joinpath("indicator_catalogue.csv").open(encoding="utf-8") as fh:
        return set(pd.read_csv(fh, usecols=["code"], dtype=str)["code"])


def _unknown_indicator(code: str, codes: set[str]) -> str:
    import difflib

    near = difflib.get_close_matches(code, sorted(codes), n=1, cutoff=0.6)
    return (f"показатель «{code}» не найден в каталоге показателей (docs/data_dictionary.md, "
            "msoko/resources/indicator_catalogue.csv)" + (f" — возможно, «{near[0]}»?" if near else "")
            + "; мера не загружена: её эффективность нечем оценить")


# ====================================================================== the public entry point
def _print_report(reports: list[FileReport], warnings: list[str], seconds: float, parsed: int,
                  progress: bool = True) -> None:
    """The balance table (on a terminal or with ``--progress``: it is in ingest_report.csv anyway),
    then the files not read and the warnings (stderr, always)."""
    w = max([len(r.file) for r in reports] + [10])
    w = min(w, 90)
    if progress:
        _print_table(reports, w)
    for r in reports:
        if r.status in ("skipped", "error", "refused"):
            _say({"skipped": "ПРОПУЩЕН: ", "error": "ОШИБКА: ", "refused": "ОТКЛОНЁН: "}[r.status] + r.message)
        elif not r.balanced:
            _say(f"ОШИБКА: «{r.file}»: баланс строк не сходится: прочитано {r.rows_read}, записано {r.rows_written}, "
                 f"отклонено {r.rows_rejected}.")
    for msg in warnings:
        _say("Предупреждение: " + msg)
    _info(f"Готово за {seconds:.1f} с; разобрано файлов: {parsed}, из кэша: {len(reports) - parsed}.", progress)


def _print_table(reports: list[FileReport], w: int) -> None:
    _say("")
    _say("Баланс строк по файлам (прочитано = записано + отклонено):")
    _say(f"{'файл':<{w}}  {'формат':<22} {'прочитано':>9} {'записано':>9} {'отклонено':>9}")
    for r in reports:
        kind = KIND_RU.get(r.kind, r.kind) + (f" {r.table}" if r.kind == "template" and r.table else "")
        mark = "" if r.balanced else "  ← баланс не сходится!"
        name = r.file if len(r.file) <= w else "…" + r.file[-(w - 1):]
        _say(f"{name:<{w}}  {kind:<22} {r.rows_read:>9} {r.rows_written:>9} {r.rows_rejected:>9}{mark}")
    tot_r = sum(r.rows_read for r in reports)
    tot_w = sum(r.rows_written for r in reports)
    tot_j = sum(r.rows_rejected for r in reports)
    _say(f"{'ИТОГО':<{w}}  {'':<22} {tot_r:>9} {tot_w:>9} {tot_j:>9}")


def _check_folders(raw: Path, processed: Path, raw_arg, processed_arg) -> None:
    """``processed`` must be neither ``raw`` nor inside it (its tables would be read as inputs), nor contain it."""
    if processed == raw:
        raise MsokoError(f"Папка обработанных данных «{processed_arg}» совпадает с папкой исходных данных "
                         f"«{raw_arg}» ({raw}). Укажите для --processed отдельную папку, например data/processed.")
    if processed.is_relative_to(raw):
        raise MsokoError(f"Папка обработанных данных «{processed_arg}» ({processed}) лежит внутри папки исходных "
                         f"данных «{raw_arg}» ({raw}): её таблицы читались бы как исходные. "
                         "Укажите для --processed папку вне исходных данных, например data/processed.")
    if raw.is_relative_to(processed):
        raise MsokoError(f"Папка исходных данных «{raw_arg}» ({raw}) лежит внутри папки обработанных данных "
                         f"«{processed_arg}» ({processed}). Держите их раздельно, например data/raw и data/processed.")


LOADABLE_KINDS = ("vpr2020", "vpr2021", "template")


def _check_loadable(metas: list[dict], raw_dir, n_files: int) -> None:
    """A raw folder without one ВПР export or msoko template that loads is an error, not an empty success."""
    if any(m["status"] == "ok" and m["kind"] in LOADABLE_KINDS for m in metas):
        return
    if not n_files:
        found = "в ней нет ни одного файла .xlsx или .csv"
    else:
        bad = [m for m in metas if m["status"] in ("error", "skipped")]
        found = f"найдено файлов: {n_files}, но среди них нет выгрузки ВПР или шаблона msoko, которые удалось загрузить"
        if bad:
            found += "; не прочитаны: " + "; ".join(m["message"] or f"«{m['file']}»" for m in bad[:5])
            if len(bad) > 5:
                found += f" и ещё {len(bad) - 5}"
    raise MsokoError(f"В папке исходных данных «{raw_dir}» нечего загружать: {found}. Положите в неё выгрузки "
                     "ВПР (vpr_results/<год>/<класс>/…xlsx) или заполненные шаблоны msoko (msoko templates), "
                     "либо создайте демо-данные: msoko demo.")


def ingest(raw_dir: str | Path, processed_dir: str | Path, jobs: int | None = None,
           progress: bool | None = None) -> IngestResult:
    """Load every input under ``raw_dir`` into typed Parquet tables in ``processed_dir``.

    Returns an :class:`IngestResult` (``.ok``, per-file balance in ``.files``, files that could not
    be read at all in ``.unreadable``). Raises :class:`MsokoError` when ``raw_dir`` does not exist,
    when ``processed_dir`` is ``raw_dir`` or one lies inside the other, and when the raw folder
    holds no ВПР export and no msoko template that could be loaded.
    """
    t0 = time.perf_counter()
    if progress is None:            # progress bar and balance table on a terminal only (not in cron)
        progress = sys.stderr.isatty()
    raw = Path(raw_dir).resolve()
    processed = Path(processed_dir).resolve()
    if not raw.is_dir():
        raise MsokoError(f"Папка исходных данных «{raw_dir}» не найдена.")
    _check_folders(raw, processed, raw_dir, processed_dir)
    # one command at a time writes the folder (a second ingest or a compute is refused, not interleaved)
    with writing_to(processed), FolderLock(processed):
        return _ingest(raw, processed, raw_dir, jobs, progress, t0)


def _ingest(raw: Path, processed: Path, raw_dir, jobs: int | None, progress: bool, t0: float) -> IngestResult:
    processed.mkdir(parents=True, exist_ok=True)
    cache = processed / CACHE_DIR
    cache.mkdir(exist_ok=True)
    state_path = processed / STATE_FILE
    notes: list[str] = []
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            raise ValueError("не объект JSON")
    except FileNotFoundError:
        state = {}
    except (OSError, ValueError) as exc:
        notes.append(f"Файл состояния {state_path} повреждён ({exc}) — загрузка выполнена заново.")
        state = {}
    fp = config_fingerprint()
    old_files = state.get("files", {}) if state.get("fingerprint") == fp else {}
    if not isinstance(old_files, dict):
        old_files = {}

    # ---- which files, with which content
    files = discover(raw, notes)
    cur = {}
    for p in files:
        rel = p.relative_to(raw).as_posix()
        try:
            st = p.stat()
            old = old_files.get(rel)
            if isinstance(old, dict) and old.get("size") == st.st_size and old.get("mtime_ns") == st.st_mtime_ns:
                h = old["hash"]
            else:
                h = file_hash(p)
            cur[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "hash": h}
        except OSError as exc:  # unreadable: parse_file reports it as an error (the run exits non-zero)
            cur[rel] = {"size": -1, "mtime_ns": 0, "hash": f"unreadable:{type(exc).__name__}:{time.time_ns()}"}

    outputs = ["vpr", "vpr_tasks", "task_specs", "schools"]
    outputs_ok = all(table_path(processed, o).exists() for o in outputs) and (processed / "ingest_report.csv").exists()
    same = (state.get("fingerprint") == fp and outputs_ok
            and {k: v["hash"] for k, v in old_files.items()} == {k: v["hash"] for k, v in cur.items()})
    if same:
        rep = pd.read_csv(processed / "ingest_report.csv", encoding="utf-8-sig", keep_default_na=False,
                          dtype={"file": str, "kind": str, "table": str, "status": str, "message": str})
        rep = rep.map(csv_unsafe)
        reports = [FileReport(file=r.file, kind=r.kind, table=r.table or None, rows_read=int(r.rows_read),
                              rows_written=int(r.rows_written), rows_rejected=int(r.rows_rejected),
                              status=r.status, message=r.message) for r in rep.itertuples(index=False)]
        if cur != old_files:  # touched but identical content: remember the new mtimes
            state["files"] = cur
            write_text_atomic(state_path, json.dumps(state, ensure_ascii=False, indent=1))
        secs = time.perf_counter() - t0
        for msg in notes:
            _say("Предупреждение: " + msg)
        for r in reports:   # what makes the exit code 1 is said again, not only on the run that parsed it
            if r.status in ("error", "refused"):
                _say(("ОШИБКА: " if r.status == "error" else "ОТКЛОНЁН: ") + r.message)
        _info(f"Изменений во входных данных нет — загрузка не требуется ({len(reports)} файлов, "
              f"{sum(r.rows_written for r in reports)} строк записано ранее; {secs:.2f} с).", progress)
        return IngestResult(ok=True, processed_dir=processed, files=reports, warnings=notes, unchanged=True, parsed=0,
                            seconds=secs)

    # ---- stage 1: parse what is not cached
    def cache_key(rel, h):
        return hashlib.blake2b(f"{fp}|{rel}|{h}".encode(), digest_size=16).hexdigest()

    metas, todo = [], []
    for p in files:
        rel = p.relative_to(raw).as_posix()
        key = cache_key(rel, cur[rel]["hash"])
        m = _load_meta(cache / key, rel, notes)
        if m is not None:
            m["key"] = key
            metas.append(m)
        else:
            todo.append((p, rel, key))
    todo.sort(key=lambda t: -cur[t[1]]["size"])  # biggest first: better packing on the pool
    n_jobs = jobs or os.cpu_count() or 1
    parsed = []
    bar = None
    if progress and todo:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(todo), desc="Загрузка файлов", unit="файл", file=sys.stderr, leave=False)
        except ImportError:
            bar = None
    args = [(str(p), rel, str(raw), str(cache / key)) for p, rel, key in todo]
    if n_jobs <= 1 or len(todo) <= 1:
        for a, (_, _, key) in zip(args, todo):
            shutil.rmtree(cache / key, ignore_errors=True)
            m = parse_file(*a)
            m["key"] = key
            parsed.append(m)
            if bar:
                bar.update(1)
    else:
        from msoko.runner.lifetime import die_with_parent

        with ProcessPoolExecutor(max_workers=min(n_jobs, len(todo)), initializer=die_with_parent,
                                 initargs=(os.getpid(),)) as pool:   # a killed ingest takes its workers
            futs = {}
            for a, (_, _, key) in zip(args, todo):
                shutil.rmtree(cache / key, ignore_errors=True)
                futs[pool.submit(parse_file, *a)] = key
            for f in as_completed(futs):
                m = f.result()
                m["key"] = futs[f]
                parsed.append(m)
                if bar:
                    bar.update(1)
    if bar:
        bar.close()
    metas += parsed
    # the other sheets of a workbook are entries of their own (their fragments in a subfolder)
    metas += [dict(sub, key=f"{m['key']}/{sub['dir']}") for m in list(metas) for sub in m.get("sheets", [])]
    _check_loadable(metas, raw_dir, len(files))

    # ---- stage 2
    t_parse = time.perf_counter() - t0
    reports, warnings = assemble(metas, cache, processed, progress)
    # a file's own warnings (found while parsing it, replayed from the cache) come first
    file_warnings = [w for m in sorted(metas, key=lambda m: m["file"]) for w in m.get("warnings", [])]
    warnings = notes + file_warnings + warnings
    t_assemble = time.perf_counter() - t0 - t_parse
    write_csv(pd.DataFrame([r.__dict__ for r in reports],
                           columns=["file", "kind", "table", "rows_read", "rows_written", "rows_rejected", "status",
                                    "message"]), processed / "ingest_report.csv")
    write_text_atomic(processed / "ingest_log.txt", "\n".join(warnings) + ("\n" if warnings else ""))

    # ---- forget cache entries of files that are gone or changed
    live = {m["key"] for m in metas}
    for d in cache.iterdir():
        if d.is_dir() and d.name not in live:
            shutil.rmtree(d, ignore_errors=True)
    state = {"version": PARSER_VERSION, "fingerprint": fp, "files": cur,
             "written_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_text_atomic(state_path, json.dumps(state, ensure_ascii=False, indent=1))

    secs = time.perf_counter() - t0
    _print_report(reports, warnings, secs, len(parsed), progress)
    _info(f"Из них: поиск и разбор файлов {t_parse:.1f} с, проверки и запись таблиц {t_assemble:.1f} с.", progress)
    unbalanced = [r for r in reports if not r.balanced]
    return IngestResult(ok=not unbalanced, processed_dir=processed, files=reports, warnings=warnings,
                        unchanged=False, parsed=len(parsed), seconds=secs)
