"""Municipalities as units: which organisations are schools of a municipality, the objectivity index and
ШНОР count per municipality, the honest name of the «all loaded» level, and the rejected rows that
concentrate on one school and work (a data-quality finding).

Compute writes three tables from here (``msoko compute``, docs/outputs.md):

- ``org_scope.parquet`` — every organisation of ``schools.parquet``: whether it is counted as a school of
  its municipality and, when not, why (a login of another region, no municipality, not a school by its
  name or login), and the ВПР works it wrote per year;
- ``municipalities_summary.parquet`` — per year, one row per municipality and one for all loaded:
  schools, pupils, ВПР works, the official objectivity index (100 − % of marked schools among the
  assessed schools of that unit), the schools of the plan of work on objectivity per tier (the one count
  of «schools with signs» msoko acts on: tiers 1–2 measures, tier 3 a self-check) and beside it the
  schools with a note only (signs not confirmed at the school level), ШНОР;
- ``reject_findings.parquet`` — a school × work whose rows were rejected at ingest in a number that
  matters (``rejects.csv``): a reason to look at the protocol, not a verdict.

The rules are configurable (``[municipality]`` and ``[organisations]`` of the municipal configuration).
"""
from __future__ import annotations

from msoko import ru

import re
from pathlib import Path

import numpy as np
import pandas as pd

# the official signs of the ФИОКО index (the same list as msoko.objectivity.core.OFFICIAL_SIGNS)
_LOGIN_REGION = re.compile(r"^[A-Za-z]+(\d{2})\d{3,}$")
ALL = "*"   # ``municipality`` of the all-loaded row of municipalities_summary

REASONS = {
    "foreign_region": "логин другого региона",
    "no_municipality": "муниципалитет не указан",
    "not_school": "не общеобразовательная организация",
}


def _section(config: dict | None, name: str) -> dict:
    return dict(((config or {}).get(name) or {}))


def login_region(login) -> str | None:
    """The region code in a ФИС ОКО login (``sch223015`` → ``22``); None when the login has no such form."""
    m = _LOGIN_REGION.match(str(login or "").strip())
    return m.group(1) if m else None


def loaded_region(schools: pd.DataFrame, config: dict | None = None) -> str | None:
    """The region of the loaded data: ``[municipality] region_code`` or, without it, the region code of
    more than half of the logins (None when no code dominates)."""
    given = str(_section(config, "municipality").get("region_code") or "").strip()
    if given:
        return given
    codes = schools["school_id"].map(login_region).dropna()
    if not len(codes):
        return None
    top = codes.value_counts()
    return str(top.index[0]) if top.iloc[0] > len(schools) / 2 else None


def _not_school_pattern(config: dict | None) -> tuple[re.Pattern | None, tuple[str, ...]]:
    """The name words and login prefixes that mark an organisation that is not a school (configurable)."""
    org = _section(config, "organisations")
    words = [str(w) for w in org.get("not_school_words", []) if str(w).strip()]
    prefixes = tuple(str(p).lower() for p in org.get("not_school_logins", []) if str(p).strip())
    pat = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in words) + r")", re.IGNORECASE) if words else None
    return pat, prefixes


def _blank(v) -> bool:
    return v is None or (not isinstance(v, str) and pd.isna(v)) or str(v).strip() in ("", "nan", "None", "<NA>")


def org_scope(schools: pd.DataFrame, vpr: pd.DataFrame | None, config: dict | None = None) -> pd.DataFrame:
    """One row per organisation: ``school_id, name, municipality, login_region, reason, counted, note_ru,
    vpr_years, works``. ``counted`` is False for a login of another region than the loaded one, an
    organisation with no municipality, or one that is not a school by name/login (a college, СПО);
    a kindergarten is not a school either but is not an odd organisation (``reason`` «preschool»)."""
    s = schools.copy()
    s["school_id"] = s["school_id"].astype(str)
    s = s.drop_duplicates("school_id")
    region = loaded_region(s, config)
    pat, prefixes = _not_school_pattern(config)
    if vpr is not None and len(vpr):
        v = vpr[~vpr["absent"].astype(bool)] if "absent" in vpr else vpr
        per = v.groupby([v["school_id"].astype(str), "year"]).size()
        works = per.groupby(level=0).sum()
        years = per.reset_index().groupby("school_id")["year"].agg(lambda y: ", ".join(str(int(x)) for x in sorted(y)))
    else:
        works, years = pd.Series(dtype="int64"), pd.Series(dtype=object)
    pre = s["is_preschool"].astype("boolean").fillna(False).astype(bool) if "is_preschool" in s else \
        pd.Series(False, index=s.index)
    if "org_type" in s:
        pre = pre | (s["org_type"].astype("string").fillna("").str.strip() == "ДОУ")
    rows = []
    for (_, r), is_pre in zip(s.iterrows(), pre):
        sid = r["school_id"]
        name = None if _blank(r.get("name")) else str(r["name"])
        muni = None if _blank(r.get("municipality")) else str(r["municipality"])
        code = login_region(sid)
        reasons = []
        if region is not None and code is not None and code != region:
            reasons.append("foreign_region")
        if muni is None:
            reasons.append("no_municipality")
        text = " ".join(x for x in (name, r.get("name_full") if not _blank(r.get("name_full")) else None) if x)
        if (pat is not None and pat.search(text)) or (prefixes and sid.lower().startswith(prefixes)):
            reasons.append("not_school")
        notes = []
        if "foreign_region" in reasons:
            notes.append(f"логин другого региона (код {code}, загружен регион {region})")
        if "no_municipality" in reasons:
            notes.append("муниципалитет не указан в реестре")
        if "not_school" in reasons:
            notes.append("по названию или логину — не общеобразовательная организация (колледж, СПО)")
        if not reasons and is_pre:
            reasons.append("preschool")
        rows.append({"school_id": sid, "name": name, "municipality": muni, "login_region": code,
                     "reason": ";".join(reasons) or None,
                     "counted": not reasons or reasons == ["preschool"],
                     "note_ru": "; ".join(notes) or None,
                     "vpr_years": str(years.get(sid, "")) or None, "works": int(works.get(sid, 0))})
    out = pd.DataFrame(rows, columns=["school_id", "name", "municipality", "login_region", "reason", "counted",
                                      "note_ru", "vpr_years", "works"])
    return out.astype({"counted": bool, "works": "int64"}).sort_values("school_id").reset_index(drop=True)


def all_loaded_label(municipalities: int, config: dict | None = None) -> str:
    """The name of the level «all loaded»: «Регион» only when the configuration says the data are the
    whole region (``[municipality] all_loaded_is_region = true``), otherwise «все загруженные
    муниципалитеты (N)»; with one municipality there is no such level and its own name is not known
    here, so «муниципалитет»."""
    m = _section(config, "municipality")
    if bool(m.get("all_loaded_is_region", False)):
        name = str(m.get("region") or "").strip()
        return f"Регион ({name})" if name else "Регион"
    if municipalities <= 1:
        return "муниципалитет"
    return f"Все загруженные муниципалитеты ({municipalities})"


def objectivity_by_unit(objectivity: pd.DataFrame | None, scope: pd.DataFrame,
                        official_signs) -> pd.DataFrame:
    """``year, municipality, assessed, marked, index`` — the official index per municipality and for all
    loaded (``municipality = ALL``), over the counted schools: a school is assessed when at least one
    official sign was assessed for it, marked when one fired."""
    cols = ["year", "municipality", "assessed", "marked", "index"]
    if objectivity is None or not len(objectivity):
        return pd.DataFrame(columns=cols)
    o = objectivity[objectivity["sign"].isin(list(official_signs)) & objectivity["school_id"].notna()
                    & objectivity["flagged"].notna()][["year", "school_id", "flagged"]].copy()
    o["school_id"] = o["school_id"].astype(str)
    sc = scope[scope["counted"] & scope["municipality"].notna()].set_index("school_id")["municipality"]
    o = o[o["school_id"].isin(sc.index)]
    if not len(o):
        return pd.DataFrame(columns=cols)
    per = o.assign(f=o["flagged"].astype(bool)).groupby(["year", "school_id"])["f"].any().reset_index()
    per["municipality"] = per["school_id"].map(sc)
    parts = [per, per.assign(municipality=ALL)]
    agg = pd.concat(parts).groupby(["year", "municipality"])["f"].agg(marked="sum", assessed="size").reset_index()
    agg["index"] = 100.0 - 100.0 * agg["marked"] / agg["assessed"]
    return agg[cols]


PLAN_COLUMNS = ["plan_assessed", "plan_tier1", "plan_tier2", "plan_tier3", "plan_measures", "plan_official_only",
                "plan_notes", "plan_index"]


def plan_by_unit(plan: pd.DataFrame | None, objectivity: pd.DataFrame | None, scope: pd.DataFrame,
                 notes: pd.DataFrame | None = None) -> pd.DataFrame:
    """``year, municipality`` + :data:`PLAN_COLUMNS` — the schools of the plan of work on objectivity
    (``objectivity_plan.parquet``, msoko.objectivity.plan) per municipality and for all loaded
    (``municipality = ALL``), over the counted schools. A school is assessed when at least one sign was
    assessed for it that year; ``plan_tier1..3`` count its plan row's tier (a school is in the plan once a
    year); ``plan_measures`` = tiers 1–2 (measures), tier 3 a self-check on one school-level finding;
    ``plan_notes`` the schools outside the plan with a note (``objectivity_plan_notes.parquet``: flagged
    signs with no school-level finding — information, not acted on), ``plan_official_only`` those of them
    with official ФИОКО signs only; ``plan_index`` = 100 − % of the assessed schools with measures."""
    cols = ["year", "municipality"] + PLAN_COLUMNS
    if objectivity is None or not len(objectivity):
        return pd.DataFrame(columns=cols)
    sc = scope[scope["counted"] & scope["municipality"].notna()].set_index("school_id")["municipality"]
    o = objectivity[objectivity["school_id"].notna() & objectivity["flagged"].notna()]
    per = pd.DataFrame({"year": o["year"].astype(int), "school_id": o["school_id"].astype(str)}).drop_duplicates()
    per = per[per["school_id"].isin(sc.index)]
    if not len(per):
        return pd.DataFrame(columns=cols)
    if plan is not None and len(plan):
        p = pd.DataFrame({"year": plan["year"].astype(int), "school_id": plan["school_id"].astype(str),
                          "tier": plan["tier"].astype(int)})
        per = per.merge(p.drop_duplicates(["year", "school_id"]), on=["year", "school_id"], how="left")
    else:
        per = per.assign(tier=np.nan)
    if notes is not None and len(notes):
        n = pd.DataFrame({"year": notes["year"].astype(int), "school_id": notes["school_id"].astype(str),
                          "note": True, "off": notes["official_only"].fillna(False).astype(bool)})
        per = per.merge(n.drop_duplicates(["year", "school_id"]), on=["year", "school_id"], how="left")
    else:
        per = per.assign(note=False, off=False)
    per["municipality"] = per["school_id"].map(sc)
    per = pd.concat([per, per.assign(municipality=ALL)])
    # a school is in the plan or in its notes, never both (msoko.objectivity.plan.plan_and_notes)
    note = per["note"].fillna(False).astype(bool) & per["tier"].isna()
    per = per.assign(t1=per["tier"].eq(1), t2=per["tier"].eq(2), t3=per["tier"].eq(3), note=note,
                     off=note & per["off"].fillna(False).astype(bool))
    agg = per.groupby(["year", "municipality"]).agg(
        plan_assessed=("school_id", "size"), plan_tier1=("t1", "sum"), plan_tier2=("t2", "sum"),
        plan_tier3=("t3", "sum"), plan_official_only=("off", "sum"), plan_notes=("note", "sum")).reset_index()
    agg["plan_measures"] = agg["plan_tier1"] + agg["plan_tier2"]
    agg["plan_index"] = 100.0 - 100.0 * agg["plan_measures"] / agg["plan_assessed"]
    return agg[cols]


def municipalities_summary(scope: pd.DataFrame, schools: pd.DataFrame, vpr: pd.DataFrame | None,
                           objectivity: pd.DataFrame | None, shnor: pd.DataFrame | None,
                           official_signs, config: dict | None = None,
                           plan: pd.DataFrame | None = None, plan_notes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per year (of ВПР), one row per municipality and one for all loaded (``level`` «all»), over the
    counted schools: ``schools`` (general schools), ``schools_vpr`` (with ВПР works that year), ``pupils``
    (sum of the registry's ``students_total`` where known; ``pupils_known`` schools), ``works`` (ВПР works
    written), ``objectivity_assessed/_marked/_index`` (the official ФИОКО index), the plan of work per tier
    (:func:`plan_by_unit`, ``plan_*``), ``shnor`` and ``shnor_assessed``; ``label_ru`` the name of the unit
    (the all-loaded one from :func:`all_loaded_label`)."""
    cols = ["year", "level", "municipality", "label_ru", "schools", "schools_vpr", "pupils", "pupils_known",
            "works", "objectivity_assessed", "objectivity_marked", "objectivity_index", *PLAN_COLUMNS,
            "shnor", "shnor_assessed"]
    sc = scope[scope["counted"] & scope["municipality"].notna() & (scope["reason"].fillna("") != "preschool")]
    munis = sorted(sc["municipality"].unique())
    if not munis:
        return pd.DataFrame(columns=cols)
    muni_of = sc.set_index("school_id")["municipality"]
    st = schools.assign(school_id=schools["school_id"].astype(str)).drop_duplicates("school_id").set_index("school_id")
    students = pd.to_numeric(st["students_total"], errors="coerce") if "students_total" in st else \
        pd.Series(np.nan, index=st.index)
    years: list[int] = []
    w = pd.DataFrame(columns=["year", "school_id"])
    if vpr is not None and len(vpr):
        v = vpr[~vpr["absent"].astype(bool)] if "absent" in vpr else vpr
        w = pd.DataFrame({"year": v["year"].astype(int), "school_id": v["school_id"].astype(str)})
        w = w[w["school_id"].isin(muni_of.index)]
        years = sorted(w["year"].unique())
    obj = objectivity_by_unit(objectivity, scope, official_signs).set_index(["year", "municipality"])
    pl = plan_by_unit(plan, objectivity, scope, plan_notes).set_index(["year", "municipality"])
    sh = pd.DataFrame(columns=["year", "school_id", "shnor"])
    if shnor is not None and len(shnor) and {"year", "school_id", "shnor"} <= set(shnor):
        sh = shnor.assign(school_id=shnor["school_id"].astype(str))
        sh = sh[sh["school_id"].isin(muni_of.index)]
    label_all = all_loaded_label(len(munis), config)
    rows = []
    for y in years:
        wy = w[w["year"] == y]
        shy = sh[sh["year"] == y]
        for m in munis + ([ALL] if len(munis) > 1 else []):
            ids = list(muni_of.index) if m == ALL else list(muni_of[muni_of == m].index)
            pupils = students.reindex(ids)
            ob = obj.loc[(y, m)] if (y, m) in obj.index else None
            pu = pl.loc[(y, m)] if (y, m) in pl.index else None
            shm = shy[shy["school_id"].isin(ids)]
            rows.append({
                "year": int(y), "level": "all" if m == ALL else "municipality", "municipality": m,
                "label_ru": label_all if m == ALL else m, "schools": len(ids),
                "schools_vpr": int(wy["school_id"].isin(ids).groupby(wy["school_id"]).any().sum()),
                "pupils": float(pupils.sum()) if pupils.notna().any() else np.nan,
                "pupils_known": int(pupils.notna().sum()),
                "works": int(wy["school_id"].isin(ids).sum()),
                "objectivity_assessed": int(ob["assessed"]) if ob is not None else 0,
                "objectivity_marked": int(ob["marked"]) if ob is not None else 0,
                "objectivity_index": float(ob["index"]) if ob is not None else np.nan,
                **{c: (int(pu[c]) if pu is not None else 0) for c in PLAN_COLUMNS if c != "plan_index"},
                "plan_index": float(pu["plan_index"]) if pu is not None else np.nan,
                "shnor": int(shm["shnor"].fillna(False).astype(bool).sum()) if len(shm) else 0,
                "shnor_assessed": int(len(shm)),
            })
    return pd.DataFrame(rows, columns=cols)


# ======================================================================================
# rejected rows as evidence
# ======================================================================================

def _reason_kind(reason: str) -> str:
    r = str(reason)
    if "больше максимума" in r:
        return "балл за задание выше максимума"
    if "не равно сумме" in r:
        return "«всего баллов» не равно сумме баллов за задания"
    if "повтор ключа" in r:
        return "повтор работы"
    if "не найден в реестре" in r:
        return "логин не найден в реестре"
    return r.split(" = ")[0].split(":")[0].strip() or "другое"


def reject_findings(rejects: pd.DataFrame | None, vpr: pd.DataFrame | None, config: dict | None = None) -> pd.DataFrame:
    """School × work where the rejected rows concentrate: ``year, grade, subject, school_id, source_file,
    rejected, rows, share, reasons_ru, text_ru``. ``rows`` = the school's rows of that work in the export
    (loaded + rejected); a finding needs at least ``[data_quality] reject_min_rows`` rejected rows
    (default 5) and a share of at least ``reject_min_share`` % (default 20). ``rejects`` needs the
    ``school_id`` column that ingest writes for ВПР rows; the work comes from the file's loaded rows."""
    cols = ["year", "grade", "subject", "school_id", "source_file", "rejected", "rows", "share", "reasons_ru",
            "text_ru"]
    if rejects is None or not len(rejects) or "school_id" not in rejects or vpr is None or not len(vpr):
        return pd.DataFrame(columns=cols)
    dq = _section(config, "data_quality")
    min_rows = int(dq.get("reject_min_rows", 5))
    min_share = float(dq.get("reject_min_share", 20.0))
    r = rejects[rejects["school_id"].notna() & (rejects["school_id"].astype(str).str.strip() != "")].copy()
    if not len(r):
        return pd.DataFrame(columns=cols)
    r["school_id"] = r["school_id"].astype(str)
    r = r.drop_duplicates(["file", "row"])
    work = vpr[["source_file", "year", "grade", "subject"]].drop_duplicates("source_file").set_index("source_file")
    loaded = vpr.groupby([vpr["source_file"], vpr["school_id"].astype(str)]).size()
    out = []
    for (f, sid), x in r.groupby(["file", "school_id"]):
        if f not in work.index:
            continue
        k = len(x)
        n = k + int(loaded.get((f, sid), 0))
        share = 100.0 * k / n
        if k < min_rows or share < min_share:
            continue
        y, g, s = work.loc[f, ["year", "grade", "subject"]]
        kinds = x["reason"].map(_reason_kind).value_counts()
        reasons = "; ".join(f"{kind} — {int(c)}" for kind, c in kinds.items())
        whole = "все" if k == n else f"{k} из {n}"
        share_txt = ru.number(float(share), 0)
        text = (f"ВПР {int(y)}, {int(g)} кл., {s}: отклонены при загрузке {whole} строк работ школы "
                f"({share_txt} %): {reasons}. Это вопрос качества данных — повод посмотреть протокол "
                "проверки и выгрузку, а не вывод о результатах школы.")
        out.append({"year": int(y), "grade": int(g), "subject": str(s), "school_id": sid, "source_file": str(f),
                    "rejected": k, "rows": n, "share": share, "reasons_ru": reasons, "text_ru": text})
    return pd.DataFrame(out, columns=cols).sort_values(["year", "school_id", "grade", "subject"]).reset_index(drop=True)


def read_rejects(processed: Path) -> pd.DataFrame | None:
    path = Path(processed) / "rejects.csv"
    if not path.exists():
        return None
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False).assign(
        row=lambda d: pd.to_numeric(d["row"], errors="coerce"))
