"""Municipalities side by side and the data-quality notes about organisations and rejected rows: read
from ``municipalities_summary.parquet``, ``org_scope.parquet`` and ``reject_findings.parquet`` as compute
wrote them (msoko.municipalities); nothing is recomputed here."""
from __future__ import annotations

import pandas as pd

from msoko.report.data import ReportData
from msoko.report.fmt import fmt


def summary(data: ReportData) -> pd.DataFrame:
    return data.table("municipalities_summary")


def scope(data: ReportData) -> pd.DataFrame:
    return data.table("org_scope")


def not_counted(data: ReportData) -> set[str]:
    """Organisations compute does not count as schools of their municipality (another region, none, not a school)."""
    def build() -> set[str]:
        s = scope(data)
        if s.empty or "counted" not in s:
            return set()
        return set(s.loc[~s["counted"].astype(bool), "school_id"].astype(str))
    return data.memo(("_not_counted",), build)


def unit_row(data: ReportData, year: int, municipality: str | None) -> dict | None:
    """The summary row of one municipality (or, with ``None``, of all loaded) in ``year``."""
    s = summary(data)
    if s.empty:
        return None
    d = s[(s["year"] == int(year)) & ((s["level"] == "all") if municipality is None
                                      else (s["municipality"].astype(str) == str(municipality)))]
    return None if d.empty else d.iloc[0].to_dict()


def municipalities_count(data: ReportData) -> int:
    s = summary(data)
    return 0 if s.empty else int(s.loc[s["level"] == "municipality", "municipality"].nunique())


def all_loaded_name(data: ReportData) -> str:
    """The name of the «all loaded» level as compute gave it («Регион» only when the data are the region)."""
    s = summary(data)
    if s.empty or not (s["level"] == "all").any():
        from msoko.municipalities import all_loaded_label
        return all_loaded_label(int(data.schools["municipality"].nunique()), data.config or None)
    return str(s.loc[s["level"] == "all", "label_ru"].iloc[0])


def _index_text(r: dict | None) -> str:
    if r is None or pd.isna(r.get("objectivity_index")):
        return "не оценивался"
    return fmt(float(r["objectivity_index"]))


def objectivity_line(data: ReportData, municipality: str, year: int) -> tuple[str, str] | None:
    """(value, explanation) of the municipality's own official index for the «в цифрах» table."""
    r = unit_row(data, year, municipality)
    if r is None:
        return None
    if not r["objectivity_assessed"]:
        return ("не оценивался", "нет школ, для которых оценён хотя бы один официальный признак")
    parts = [f"школ с официальными признаками — {fmt(int(r['objectivity_marked']))} из "
             f"{fmt(int(r['objectivity_assessed']))} оценённых школ муниципалитета"]
    a = unit_row(data, year, None)
    if a is not None:
        parts.append(f"{all_loaded_name(data)[:1].lower() + all_loaded_name(data)[1:]} — {_index_text(a)}")
    prev = unit_row(data, year - 1, municipality)
    if prev is not None and prev["objectivity_assessed"]:
        parts.append(f"в {year - 1} году — {_index_text(prev)}")
    plan = plan_text(r)
    if plan:
        parts.append(f"план работы по объективности: {plan}")
    return _index_text(r), "; ".join(parts)


def objectivity_message(data: ReportData, municipality: str, year: int) -> str | None:
    """The key message on objectivity: the municipality's own index, the year before, all loaded."""
    r = unit_row(data, year, municipality)
    if r is None:
        return None
    if not r["objectivity_assessed"]:
        return "Показатель объективности оценки не оценивался: ни для одной школы муниципалитета нет официальных признаков."
    s = f"Показатель объективности оценки — {_index_text(r)}"
    prev = unit_row(data, year - 1, municipality)
    if prev is not None and prev["objectivity_assessed"]:
        s += f" (в {year - 1} году — {_index_text(prev)})"
    s += (f"; официальные признаки необъективности выявлены у {fmt(int(r['objectivity_marked']))} из "
          f"{fmt(int(r['objectivity_assessed']))} оценённых школ муниципалитета")
    a = unit_row(data, year, None)
    if a is not None:
        name = all_loaded_name(data)
        s += f" ({name[:1].lower() + name[1:]} — {_index_text(a)})"
    plan = plan_text(r)
    if plan:
        s += (f". План работы по объективности (находки, подтверждённые на уровне школы): {plan}")
    return s + "."


def side_by_side(data: ReportData, year: int) -> pd.DataFrame:
    """Municipalities side by side (and all loaded, last): schools, pupils, ВПР works, the objectivity
    index, ШНОР. Sorted by name, not ranked."""
    s = summary(data)
    if s.empty:
        return pd.DataFrame()
    d = s[s["year"] == int(year)]
    if d.empty:
        return pd.DataFrame()
    d = pd.concat([d[d["level"] == "municipality"].sort_values("municipality"), d[d["level"] == "all"]])
    rows = []
    for r in d.to_dict("records"):
        pupils = "нет данных" if pd.isna(r["pupils"]) else (
            fmt(int(r["pupils"])) + ("" if r["pupils_known"] == r["schools"]
                                     else f" (известно для {fmt(int(r['pupils_known']))} из {fmt(int(r['schools']))} школ)"))
        rows.append({
            "Муниципалитет": r["label_ru"],
            "Школ": fmt(int(r["schools"])),
            "Школ с работами ВПР": fmt(int(r["schools_vpr"])),
            "Обучающихся": pupils,
            "Работ ВПР": fmt(int(r["works"])),
            "Показатель объективности (ФИОКО)": _index_text(r),
            "Школ с официальными признаками / оценено": (
                f"{fmt(int(r['objectivity_marked']))} / {fmt(int(r['objectivity_assessed']))}"
                if r["objectivity_assessed"] else "—"),
            **_plan_cells(r),
            "ШНОР": (f"{fmt(int(r['shnor']))} из {fmt(int(r['shnor_assessed']))}" if r["shnor_assessed"] else "—"),
        })
    return pd.DataFrame(rows)


def plan_text(r: dict | None) -> str | None:
    """«меры — 2, самоанализ — 5 из 17 оценённых школ»: the plan of work of a unit as compute counted it
    (``plan_*`` of municipalities_summary); None when not computed."""
    if r is None or "plan_measures" not in r or pd.isna(r.get("plan_assessed")) or not r["plan_assessed"]:
        return None
    return (f"меры — {fmt(int(r['plan_measures']))}, самоанализ — {fmt(int(r['plan_tier3']))} "
            f"из {fmt(int(r['plan_assessed']))} оценённых школ")


def _plan_cells(r: dict) -> dict[str, str]:
    if "plan_measures" not in r:
        return {}
    if pd.isna(r.get("plan_assessed")) or not r["plan_assessed"]:
        return {"План работы: меры / самоанализ": "—"}
    return {"План работы: меры / самоанализ": f"{fmt(int(r['plan_measures']))} / {fmt(int(r['plan_tier3']))}"}


def odd_organisations(data: ReportData, municipality: str | None = None) -> pd.DataFrame:
    """«Организация / Логин / Муниципалитет в реестре / Почему не считается школой муниципалитета» —
    the organisations compute left out of the municipal figures (of one municipality when given)."""
    s = scope(data)
    if s.empty:
        return pd.DataFrame()
    d = s[~s["counted"].astype(bool)]
    if municipality is not None:
        reg = data.schools.assign(school_id=data.schools["school_id"].astype(str)).set_index("school_id")["municipality"]
        d = d[d["school_id"].astype(str).map(reg).astype(str) == str(municipality)]
    if d.empty:
        return pd.DataFrame()
    reg = data.schools.assign(school_id=data.schools["school_id"].astype(str)).set_index("school_id")["municipality"]
    return pd.DataFrame({
        "Организация": d["name"].fillna(d["school_id"]).astype(str),
        "Логин": d["school_id"].astype(str),
        "Муниципалитет в реестре": d["school_id"].astype(str).map(reg).map(
            lambda m: "не указан" if pd.isna(m) or str(m) in ("", "nan") else str(m)),
        "Почему не считается школой муниципалитета": d["note_ru"].fillna("—"),
        "Работы ВПР": [f"{fmt(int(w))} ({y})" if w else "нет" for w, y in zip(d["works"], d["vpr_years"].fillna(""))],
    }).sort_values(["Организация", "Логин"]).reset_index(drop=True)


def reject_findings(data: ReportData, year: int | None = None, ids: set[str] | None = None) -> pd.DataFrame:
    """The school × work concentrations of rejected rows (compute's ``reject_findings``) as a table."""
    f = data.table("reject_findings")
    if f.empty:
        return pd.DataFrame()
    if year is not None:
        f = f[f["year"] == int(year)]
    if ids is not None:
        f = f[f["school_id"].astype(str).isin(ids)]
    if f.empty:
        return pd.DataFrame()
    names = data.schools.assign(school_id=data.schools["school_id"].astype(str)).set_index("school_id")["name"]
    return pd.DataFrame({
        "Школа": f["school_id"].astype(str).map(names).fillna(f["school_id"]).astype(str),
        "Логин": f["school_id"].astype(str),
        "Работа": [f"ВПР {int(y)}, {int(g)} кл., {s}" for y, g, s in zip(f["year"], f["grade"], f["subject"])],
        "Отклонено строк": [f"{fmt(int(k))} из {fmt(int(n))} ({fmt(float(p), 0)} %)"
                            for k, n, p in zip(f["rejected"], f["rows"], f["share"])],
        "Причины": f["reasons_ru"].astype(str),
        "Файл": f["source_file"].astype(str),
    }).sort_values(["Школа", "Логин", "Работа"]).reset_index(drop=True)


REJECT_NOTE = ("Качество данных: строки этих работ отклонены при загрузке (rejects.csv) и в расчёты не вошли. "
               "Это повод посмотреть протокол проверки и выгрузку школы, а не вывод о её результатах или "
               "объективности.")
ODD_NOTE = ("Эти организации есть в реестре, но не считаются школами муниципалитета: их данные не входят "
            "в показатели муниципалитета, показатель объективности и ШНОР. Проверьте реестр (logins.xlsx).")


def has_vpr(data: ReportData, school_id: str, year: int) -> bool | None:
    """Whether the organisation wrote ВПР works in ``year`` (compute's ``org_scope``); None when unknown."""
    s = scope(data)
    if s.empty or "vpr_years" not in s:
        return None
    years = data.memo(("_vpr_years",), lambda: {str(k): {int(y) for y in str(v).split(", ") if y.strip().isdigit()}
                                               for k, v in zip(s["school_id"], s["vpr_years"].fillna(""))})
    if str(school_id) not in years:
        return None
    return int(year) in years[str(school_id)]


NO_VPR = "не оценивалась: нет работ ВПР"


def scope_note(data: ReportData, school_id: str) -> str | None:
    """Why compute does not count the organisation as a school of its municipality (None when it does)."""
    s = scope(data)
    if s.empty or str(school_id) not in not_counted(data):
        return None
    r = s[s["school_id"].astype(str) == str(school_id)]
    return str(r["note_ru"].iloc[0]) if len(r) and pd.notna(r["note_ru"].iloc[0]) else "по данным реестра"


def index_rows(processed_dir, year: int) -> list[dict[str, str]]:
    """The runs' index page: the municipalities side by side (:func:`side_by_side` columns as text), when
    more than one is loaded; ``[]`` otherwise or when compute wrote no summary."""
    from pathlib import Path

    path = Path(processed_dir) / "municipalities_summary.parquet"
    if not path.exists():
        return []
    s = pd.read_parquet(path)
    if int((s["level"] == "municipality").groupby(s["year"]).sum().get(int(year), 0)) <= 1:
        return []

    class _Data:   # side_by_side reads only the summary table
        def table(self, name):
            return s

    return side_by_side(_Data(), year).to_dict("records")  # type: ignore[arg-type]
