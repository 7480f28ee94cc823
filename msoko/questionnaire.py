"""The ФИС ОКО context questionnaire, every column of it.

The questionnaire («Сбор контекстных данных об ОО и участниках ВПР») is a federal
export: one row per organisation, ~90 columns. Its columns are described in the data
dictionary (``resources/data_dictionary.toml``, the ``[[questionnaire]]`` entries: id,
header, optional ``match`` regex, type, unit, which table it feeds). A column is found by
its header — the exact text first, then the entry's ``match`` expression (a question
reworded for another year: «в 2021/2022 учебном году»); a column that no entry matches
is named in a warning and not loaded; nothing is guessed from the position.

:func:`parse` gives ``context_questionnaire.parquet`` (one row per ``year, school_id``,
typed columns); :func:`context_metrics` and :func:`teacher_counts` derive what systems
2 and 6 use from it (compute, :mod:`msoko.indicators`).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from msoko.layouts import norm

TYPES = {"str", "int", "float", "bool", "code"}
SOURCE = "context_questionnaire"   # the value of the *_source columns for what came from here
SOURCE_RU = "анкета ФИС ОКО"
_CODE = re.compile(r"^\s*(\d+)\s*\.\s*(.*)$", re.S)
_TRUE = {"да", "1", "true", "+", "yes"}
_FALSE = {"нет", "0", "false", "-", "no"}
_SCHOOL_YEAR = re.compile(r"(\d{4})\s*/\s*(\d{4}) учебн")
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


@dataclass(frozen=True)
class Field:
    id: str
    header: str
    type: str
    unit: str = ""
    feeds: str = "kept"
    description: str = ""
    match: str | None = None


@lru_cache(maxsize=1)
def fields() -> tuple[Field, ...]:
    """The ``[[questionnaire]]`` entries of the data dictionary."""
    src = resources.files("msoko") / "resources" / "data_dictionary.toml"
    data = tomllib.loads(src.read_text(encoding="utf-8"))
    out = tuple(Field(**q) for q in data.get("questionnaire", []))
    for f in out:
        if f.type not in TYPES:
            raise ValueError(f"questionnaire field {f.id}: unknown type {f.type}")
    return out


@dataclass
class Mapping:
    columns: list[tuple[int, str, Field]]   # (column index, output id, field)
    unknown: list[str]                      # headers no entry matches
    reworded: list[tuple[str, str]]         # (header, id) matched by `match`, not by the exact text


def map_header(header: list[str]) -> Mapping:
    """Each column of ``header`` → a dictionary field, by its header text (exact, then ``match``)."""
    fs = fields()
    exact = {norm(f.header): f for f in fs if "{" not in f.id}
    taken: dict[str, int] = {}
    cols, unknown, reworded = [], [], []
    for i, h in enumerate(header):
        k = norm(h).strip('"').strip()
        if not k or k.startswith("unnamed"):
            continue
        f, group = exact.get(k) or exact.get(norm(h)), None
        if f is None:
            for cand in fs:
                m = re.search(cand.match, norm(h)) if cand.match else None
                if m:
                    f, group = cand, (m.group(1) if m.groups() else None)
                    break
            if f is not None and norm(h) != norm(f.header) and "{" not in f.id:
                reworded.append((h, f.id))
        if f is None:
            unknown.append(h)
            continue
        fid = f.id.replace("{1}", group or "")
        if "{n}" in fid:
            n = 1
            while fid.replace("{n}", str(n)) in taken:
                n += 1
            fid = fid.replace("{n}", str(n))
        if fid in taken:   # a repeated header: the first column is read
            unknown.append(f"{h} (повтор столбца)")
            continue
        taken[fid] = i
        cols.append((i, fid, f))
    return Mapping(cols, unknown, reworded)


def questionnaire_year(file_name: str, header: list[str]) -> int | None:
    """The year of the questionnaire: from the file name, else from «в 2020/2021 учебном году»."""
    m = _YEAR.findall(str(file_name))
    if m:
        return int(m[-1])
    for h in header:
        s = _SCHOOL_YEAR.search(norm(h))
        if s:
            return int(s.group(2))
    return None


def _number(text: str) -> float | None:
    t = re.sub(r"[\s\xa0\u202f%]", "", text).replace(",", ".")
    if not t:
        return None
    try:
        return float(t)
    except ValueError:
        return np.nan   # not a number: said in a warning, stored as missing


def _convert(f: Field, texts: np.ndarray) -> tuple[dict[str, object], int]:
    """Typed column(s) of one field and the number of cells that could not be read."""
    bad = 0
    if f.type == "str":
        return {"": pd.array([t or None for t in texts], dtype=object)}, 0
    if f.type == "bool":
        vals = []
        for t in texts:
            k = t.strip().lower()
            v = True if k in _TRUE else False if k in _FALSE else None
            bad += bool(k) and v is None
            vals.append(v)
        return {"": pd.array(vals, dtype="boolean")}, bad
    if f.type == "code":
        codes, answers = [], []
        for t in texts:
            m = _CODE.match(t) if t else None
            codes.append(int(m.group(1)) if m else None)
            answers.append((m.group(2).strip() if m else t.strip()) or None)
        return {"": pd.array(codes, dtype="Int16"), "_text": pd.array(answers, dtype=object)}, 0
    nums = [_number(t) for t in texts]
    bad = sum(1 for v in nums if v is not None and np.isnan(v))
    s = pd.Series(pd.array([None if v is None or np.isnan(v) else v for v in nums], dtype="Float64"))
    if f.type == "int":
        whole = (s.isna() | (s == s.round())).fillna(True).astype(bool)
        bad += int((~whole).sum())
        s = s.where(whole, pd.NA).round().astype("Int32")
    s = s.array
    return {"": s}, bad


def parse(header: list[str], texts: list[np.ndarray], year: int | None, file_name: str
          ) -> tuple[pd.DataFrame, list[str], Mapping]:
    """The questionnaire as a typed frame (``year``, ``school_id`` first), warnings (Russian), mapping.

    ``texts[i]`` holds the cleaned text of column ``i`` for every data row.
    """
    mp = map_header(header)
    n = len(texts[0]) if texts else 0
    out: dict[str, object] = {"year": pd.array([year] * n, dtype="Int16")}
    warnings = []
    bad_cells = {}
    for i, fid, f in mp.columns:
        conv, bad = _convert(f, texts[i])
        for suffix, col in conv.items():
            out[fid + suffix] = col
        if bad:
            bad_cells[header[i]] = bad
    if "school_id" not in out:
        out["school_id"] = pd.array([None] * n, dtype=object)
    df = pd.DataFrame(out)
    df = df[["year", "school_id"] + [c for c in df.columns if c not in ("year", "school_id")]]
    if mp.unknown:
        shown = "; ".join(f"«{h}»" for h in mp.unknown)
        warnings.append(f"«{file_name}»: контекстная анкета — столбцы, которых нет в словаре данных, не загружены "
                        f"({len(mp.unknown)}): {shown}. Опишите их в msoko/resources/data_dictionary.toml "
                        "([[questionnaire]]), чтобы они читались.")
    if mp.reworded:
        shown = "; ".join(f"«{h[:80]}{'…' if len(h) > 80 else ''}» → {fid}" for h, fid in mp.reworded)
        warnings.append(f"«{file_name}»: контекстная анкета — столбцы с изменённым текстом заголовка "
                        f"сопоставлены по образцу из словаря данных: {shown}.")
    if bad_cells:
        shown = "; ".join(f"«{h[:60]}»: {k}" for h, k in bad_cells.items())
        warnings.append(f"«{file_name}»: контекстная анкета — значения не того типа оставлены пустыми: {shown}.")
    if year is None:
        warnings.append(f"«{file_name}»: год контекстной анкеты не определён ни по имени файла, ни по заголовкам — "
                        "анкета сохранена без года и в расчёт показателей не попадает.")
    return df, warnings, mp


# ---------------------------------------------------------------- derived metrics (compute)

def _ratio(num, den) -> pd.Series:
    num = pd.to_numeric(num, errors="coerce").astype(float)
    den = pd.to_numeric(den, errors="coerce").astype(float)
    return (num / den.where(den > 0)).clip(0, 1)


def _col(q: pd.DataFrame, name: str) -> pd.Series:
    return q[name] if name in q.columns else pd.Series(np.nan, index=q.index)


def context_metrics(q: pd.DataFrame) -> pd.DataFrame:
    """``year, school_id, equipment_index, parent_involvement, q_students_total`` from the questionnaire.

    - ``equipment_index`` (0–100) = 100 × mean of the available shares: classrooms with a teacher's
      computer, classrooms with a projector/interactive board (of all classrooms), pupils' computers
      that are not outdated, and those with internet access (of pupils' computers);
    - ``parent_involvement`` (%) = mean of the shares of parents who usually attend parents' meetings
      in primary, basic and secondary classes (the levels answered).
    """
    q = q[q["year"].notna() & q["school_id"].notna()]
    pcs = _col(q, "pupil_computers")
    parts = pd.concat([
        _ratio(_col(q, "classrooms_teacher_pc"), _col(q, "classrooms")),
        _ratio(_col(q, "classrooms_projector"), _col(q, "classrooms")),
        _ratio(pd.to_numeric(pcs, errors="coerce") - pd.to_numeric(_col(q, "pupil_computers_outdated"),
                                                                    errors="coerce"), pcs),
        _ratio(_col(q, "pupil_computers_internet"), pcs),
    ], axis=1)
    meet = pd.concat([pd.to_numeric(_col(q, c), errors="coerce").astype(float).clip(0, 100)
                      for c in ("parents_meeting_primary", "parents_meeting_basic", "parents_meeting_secondary")],
                     axis=1)
    return pd.DataFrame({
        "year": q["year"].astype(int).to_numpy(),
        "school_id": q["school_id"].astype(str).to_numpy(),
        "equipment_index": (parts.mean(axis=1, skipna=True) * 100).to_numpy(dtype=float),
        "parent_involvement": meet.mean(axis=1, skipna=True).to_numpy(dtype=float),
        "q_students_total": pd.to_numeric(_col(q, "students_total"), errors="coerce").astype(float).to_numpy(),
    })


def teacher_counts(q: pd.DataFrame) -> pd.DataFrame:
    """``year, school_id, teachers, highest, young30, pension, kpk`` (counts) for system 6."""
    q = q[q["year"].notna() & q["school_id"].notna()]

    def num(c):
        return pd.to_numeric(_col(q, c), errors="coerce").astype(float).to_numpy()

    kpk = np.nansum(np.vstack([num("kpk_upto36"), num("kpk_36_72"), num("kpk_over72")]), axis=0)
    kpk_known = ~np.all(np.isnan(np.vstack([num("kpk_upto36"), num("kpk_36_72"), num("kpk_over72")])), axis=0)
    return pd.DataFrame({
        "year": q["year"].astype(int).to_numpy(), "school_id": q["school_id"].astype(str).to_numpy(),
        "teachers": num("teachers_total"), "highest": num("teachers_highest"),
        "young30": num("teachers_young30"), "pension": num("teachers_pension"),
        "kpk": np.where(kpk_known, kpk, np.nan),
    })
