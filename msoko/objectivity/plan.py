"""The plan of work on objectivity: one row per school × year with a school-level finding, tiered by
evidence; and the notes beside it (signs that did not survive the school-level control).

This is the only definition of msoko's plan of work (written by compute as
``objectivity_plan.parquet``; the reports, the priorities, the principal's composite and the
«адресная поддержка» list read it) and of its notes (``objectivity_plan_notes.parquet``). It follows the
Omsk plan (a year of graded measures for the schools with signs of non-objectivity): the heaviest
measures for the few schools with the strongest evidence, a review of their own tests for schools whose
current marks disagree with the ВПР, and a self-check for a school with one finding of its own.

**School-level error control.** A school writes about 30 works a year, and every cell-level sign is
a test at its own level: even at 2 % a third of the schools would be named by chance. The plan
therefore judges a school, not a cell:

1. the evidence is grouped into the families of :mod:`msoko.objectivity.combined` (level against
   similar schools and ГИА, level against the neighbouring years, journal marks — here with the
   current-marks findings ``marks_lower``/``marks_far_below`` —, distribution of scores, task
   pattern, answer strings) and ``combined`` (several traces in one work);
2. within one work the family's signs are merged by Simes' rule (they are positively dependent);
3. over the school's works of that year the family's p-values are adjusted by **Holm** (family-wise
   error over the school's works: valid under any dependence between works, uniformly better than
   Bonferroni); the family's school-level p is the smallest adjusted p, and the works of the finding
   are those with an adjusted p below ``plan_alpha``.

Why Holm and not Simes/BH: the plan's question is «is there at least one work of this school with a
real trace» — a family-wise question, not a false-discovery share — and the works of a school share
teachers and pupils, so a rule valid under arbitrary dependence is the safe one.

**Tiers.** A family is *found* when its school-level p < ``plan_alpha`` (0.005) and *strong* when
< ``plan_strong_alpha`` (0.001). Only a school with a found family is in the plan. The real sample's
p-values have heavier tails than nominal (objectivity_calibration.parquet), so a single found family
in one year is not enough for a measure that costs the school:

- tier 1 (observers at the next ВПР / a re-check of the works): a family about the ВПР results
  (all but ``journal``) that is strong, or found together with another family the same year, or
  found in two years or more (persistence);
- tier 2 (expertise of the school's КИМ and a comparison of current marks with the ВПР): the journal
  family strong, or found with another family, or found in two years;
- tier 3 (self-check, no external measures): one family found at the school level, not strong and
  not confirmed by another family or another year.

**Notes, not the plan.** A school without a found family is not in the plan, whatever its cells show:
cell-level flags that do not survive the school-level control, and official ФИОКО signs that msoko's
evidence does not confirm. On the real sample these were 36–38 of 83 schools a year (half of them on the
official «Завышенный средний балл» alone) — a census, not a decision. Such a school gets a row of
:func:`plan_and_notes`' notes (``objectivity_plan_notes.parquet``): what was flagged and why it is not
a finding, shown as information (the official signs themselves stay computed and shown as the region
sees them), never as a school to act on.

**Official signs.** The official «Завышенный средний балл» (``inflated_mean``) stays computed exactly
(:mod:`msoko.objectivity.official`), but it counts as evidence only where similar schools confirm it
(``inflated_mean_similar`` flagged for the same work — a member of the ``level_peers`` family, so it
acts through that family's school-level test) *and* the school's mean is above the reference interval
by at least ``plan_min_gap_share`` of the work's maximum score (5 %). Otherwise the row (plan or note)
says why. The other official signs (journal mismatch, cohort rise or fall) are members of their families
and count through them; alone they are a note.

**Measures** fit what was found: journal marks → «экспертиза КИМ и сопоставление текущих отметок с
результатами ВПР»; identical answer strings → «перепроверка этих работ»; bunching at the mark
boundaries, results above similar schools, years or ГИА, task pattern, several traces in one work →
«независимые наблюдатели на следующей ВПР»; tier 3 → «самоанализ, без внешних мер».

**Score** (rank within a tier): Σ over the found families of −log10(school-level p) plus
``plan_persistence_bonus`` (2, a factor of 100 in p) for every further year in which the school had a
found family; rows are ranked by tier, then score.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from msoko.objectivity.core import CELL_KEYS, OFFICIAL_SIGNS, settings
from msoko import ru
from msoko.ru import chance, plural

PLAN_COLUMNS = ["year", "school_id", "tier", "measures", "reasons", "families", "works", "n_works_flagged",
                "persistence", "p_school", "score", "grade", "subject", "n"]
# the notes beside the plan: schools with flagged signs but no school-level finding (information only)
NOTE_COLUMNS = ["year", "school_id", "official_only", "reasons", "p_school", "grade", "subject", "n"]

JOURNAL = "journal"
COMBINED = "combined"
# current-marks findings are journal-mark evidence for the plan (they stay out of `combined`)
JOURNAL_EXTRA = ("marks_lower", "marks_far_below", "marks_unrelated")

FAMILY_WORDS = {"level_peers": "результаты выше, чем у похожих школ и по ГИА",
                "level_time": "результаты выше, чем в соседние годы",
                "journal": "расхождение отметок ВПР с отметками за четверть",
                "distribution": "скопление баллов у границ отметок",
                "tasks": "базовые задания выполнены хуже сложных",
                "strings": "совпадающие работы",
                "combined": "несколько признаков в одной работе"}

OBSERVERS = "независимые наблюдатели на следующей ВПР"
RECHECK = "перепроверка этих работ"
EXPERTISE = "экспертиза КИМ и сопоставление текущих отметок с результатами ВПР"
SELF_CHECK = "самоанализ, без внешних мер"
# a recommendation rule's `measure` (municipal_config.toml [[recommendations]]) → the plan's measure
MEASURE_KEYS = {"observers": OBSERVERS, "recheck": RECHECK, "expertise": EXPERTISE}
MEASURE_OF = {"journal": EXPERTISE, "strings": RECHECK, "distribution": OBSERVERS, "level_peers": OBSERVERS,
              "level_time": OBSERVERS, "tasks": OBSERVERS, "combined": OBSERVERS}
TIER_WORDS = {1: "уровень 1 — наблюдатели или перепроверка", 2: "уровень 2 — экспертиза КИМ и сопоставление отметок",
              3: "уровень 3 — самоанализ по одной находке"}


def holm(p) -> np.ndarray:
    """Holm's step-down adjusted p-values: p̃_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j))."""
    p = np.asarray(p, dtype="float64")
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def plan_settings(config: dict | None) -> dict:
    """The objectivity settings with the plan's own (``[objectivity.plan]``)."""
    cfg = settings(config)
    return {**cfg, **cfg.get("plan", {})}


def family_of(cfg: dict) -> dict[str, str]:
    """sign → family for the plan: the families of ``combined`` plus the current-marks findings, and
    ``combined`` itself."""
    fam = {s: f for f, lst in cfg["combined_families"].items() for s in lst}
    for s in JOURNAL_EXTRA:
        fam.setdefault(s, JOURNAL)
    fam[COMBINED] = COMBINED
    return fam


def school_tests(objectivity: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """Per year × school × family × work: ``p`` (Simes over the family's signs in the work), ``adj``
    (Holm over the school's works of that family and year), ``m`` (works tested)."""
    fam_of = family_of(cfg)
    o = objectivity
    e = o.loc[o["school_id"].notna() & o["sign"].isin(list(fam_of)) & o["flagged"].notna() & o["p_value"].notna(),
              CELL_KEYS + ["sign", "p_value"]].copy()
    cols = CELL_KEYS + ["family", "p", "adj", "m"]
    if e.empty:
        return pd.DataFrame(columns=cols)
    e["family"] = e["sign"].map(fam_of)
    e["year"] = e["year"].astype("int64")
    e["grade"] = e["grade"].astype("int64")
    e = e.sort_values(CELL_KEYS + ["family", "p_value"], kind="stable")
    g = e.groupby(CELL_KEYS + ["family"], sort=False)
    e["simes"] = g["p_value"].transform("size") * e["p_value"] / (g.cumcount() + 1)
    c = e.groupby(CELL_KEYS + ["family"], sort=True)["simes"].min().clip(upper=1.0).rename("p").reset_index()
    by = c.groupby(["year", "school_id", "family"], sort=False)["p"]
    p, adj = c["p"].to_numpy(dtype="float64"), np.empty(len(c))
    for ix in by.indices.values():   # Holm per group on plain arrays (a Series per group cost more than Holm)
        adj[ix] = holm(p[ix])
    c["adj"] = adj
    c["m"] = by.transform("size").astype("int64")
    return c[cols]


def _work(grade, subject, procedure: str | None = "ВПР") -> str:
    """«ВПР, 4 кл. Математика» / «ОГЭ, Математика»: the procedure first, a class only for ВПР."""
    proc = procedure if isinstance(procedure, str) and procedure else "ВПР"
    if proc == "ВПР" and grade is not None and not pd.isna(grade):
        return f"ВПР, {int(grade)} кл. {subject}"
    return f"{proc}, {subject}"


def _num(x: float, digits: int = 1) -> str:
    return ru.number(float(x), digits)


def _official(o: pd.DataFrame, cfg: dict, max_scores: pd.DataFrame | None) -> pd.DataFrame:
    """Flagged official signs, one row per sign × work: ``confirmed`` (bool, only for inflated_mean: similar
    schools confirm it and the gap is practically meaningful) and ``note`` (Russian)."""
    f = o.loc[o["school_id"].notna() & o["sign"].isin(OFFICIAL_SIGNS) & o["flagged"].fillna(False).astype(bool)].copy()
    if f.empty:
        return f.assign(confirmed=pd.Series(dtype=bool), note=pd.Series(dtype=object))
    f["year"] = f["year"].astype("int64")
    sim = o.loc[(o["sign"] == "inflated_mean_similar") & o["flagged"].fillna(False).astype(bool)]
    sim_cells = set(zip(sim["year"].astype(int), sim["school_id"], sim["grade"].astype(float), sim["subject"]))
    mx = {}
    if max_scores is not None and len(max_scores):
        mx = {(int(y), float(g), s): float(m) for y, g, s, m in
              zip(max_scores["year"], max_scores["grade"], max_scores["subject"], max_scores["max_score"]) if pd.notna(m)}
    min_share = float(cfg["plan_min_gap_share"])
    confirmed, notes = [], []
    for r in f.itertuples(index=False):
        if r.sign != "inflated_mean":
            confirmed.append(False)
            notes.append("")
            continue
        key = (int(r.year), r.school_id, float(r.grade) if pd.notna(r.grade) else np.nan, r.subject)
        similar = key in sim_cells
        thr = getattr(r, "threshold", np.nan)
        gap = float(r.value) - float(thr) if pd.notna(r.value) and pd.notna(thr) else np.nan
        m = mx.get((key[0], key[2], key[3])) if getattr(r, "procedure", "ВПР") == "ВПР" else None
        small = m is not None and pd.notna(gap) and gap < min_share * m
        why = []
        if not similar:
            why.append("похожие школы его не подтверждают")
        if small:
            why.append(f"средний балл выше интервала эталона лишь на {_num(gap)} балла из {_num(m, 0)} "
                       f"(меньше {_num(100 * min_share, 0)} % максимума)")
        confirmed.append(similar and not small)
        notes.append("; ".join(why))
    f["confirmed"] = confirmed
    f["note"] = notes
    return f


def plan_of_work(objectivity: pd.DataFrame | None, config: dict | None = None,
                 max_scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """The plan of work (see the module docstring): one row per year × school with a school-level finding
    (the first frame of :func:`plan_and_notes`)."""
    return plan_and_notes(objectivity, config, max_scores)[0]


def plan_and_notes(objectivity: pd.DataFrame | None, config: dict | None = None,
                   max_scores: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The plan of work and its notes (see the module docstring).

    ``objectivity`` is the objectivity.parquet frame; ``max_scores`` (``year, grade, subject,
    max_score`` of the ВПР works) gives the practical size of an official inflated mean (without it
    only the similar-schools check applies).

    The plan: one row per year × school with a found family, columns :data:`PLAN_COLUMNS` — ``tier``
    (1 strongest), ``measures`` and ``reasons`` (Russian), ``families`` (codes, «; »), ``works`` (the
    works of the findings, Russian), ``n_works_flagged``, ``persistence`` (years with a found family),
    ``p_school`` (the smallest school-level p of a found family), ``score``; ``grade, subject, n`` of the
    strongest work. Sorted by year, tier, score (descending).

    The notes: one row per year × school with a flagged sign (official or msoko's) but no found family,
    columns :data:`NOTE_COLUMNS` — ``official_only`` (only official ФИОКО signs were flagged),
    ``reasons`` (what was flagged and why it is not a finding, Russian), ``p_school`` (the smallest
    school-level p of any family; NaN when none was tested), ``grade, subject, n`` of the work with the
    smallest p. Sorted by year, school."""
    if objectivity is None or not len(objectivity):
        return _empty(), _empty_notes()
    cfg = plan_settings(config)
    alpha, strong = float(cfg["plan_alpha"]), float(cfg["plan_strong_alpha"])
    o = objectivity.loc[objectivity["school_id"].notna()]
    if "procedure" not in o:   # a frame without it (a test's, an old compute's): every sign is a ВПР one
        o = o.assign(procedure="ВПР")
    tests = school_tests(o, cfg)
    fam_p = (tests.groupby(["year", "school_id", "family"])["adj"].min().rename("p_f").reset_index()
             if len(tests) else pd.DataFrame(columns=["year", "school_id", "family", "p_f"]))
    found = fam_p.loc[fam_p["p_f"] < alpha]
    # `combined` merges the other families: where one of them is found, it is not a family of its own
    # (nor a year of persistence)
    other = found.loc[found["family"] != COMBINED, ["year", "school_id"]].drop_duplicates().assign(_o=True)
    found = found.merge(other, on=["year", "school_id"], how="left")
    found = found.loc[(found["family"] != COMBINED) | found["_o"].isna()].drop(columns="_o")
    fam_years = found.groupby(["school_id", "family"])["year"].nunique().to_dict()
    school_years = found.groupby("school_id")["year"].nunique().to_dict()
    off = _official(o, cfg, max_scores)
    fam_of = family_of(cfg)
    cell_flags = o.loc[o["sign"].isin(list(fam_of)) & o["flagged"].fillna(False).astype(bool)]
    keys = set(zip(found["year"].astype(int), found["school_id"]))
    keys |= set(zip(off["year"].astype(int), off["school_id"]))
    keys |= set(zip(cell_flags["year"].astype(int), cell_flags["school_id"]))
    if not keys:
        return _empty(), _empty_notes()
    fam_by = {k: g for k, g in fam_p.groupby(["year", "school_id"])} if len(fam_p) else {}
    tests_by = {k: g for k, g in tests.groupby(["year", "school_id", "family"])} if len(tests) else {}
    off_by = {k: g for k, g in off.groupby(["year", "school_id"])} if len(off) else {}
    flags_by = {k: g for k, g in cell_flags.groupby([cell_flags["year"].astype(int), "school_id"])}
    bonus = float(cfg["plan_persistence_bonus"])
    nn = o.loc[o["grade"].notna() & o["n"].notna(), ["year", "school_id", "grade", "subject", "n"]]
    n_of = dict(zip(zip(nn["year"].astype(int), nn["school_id"], nn["grade"].astype(float), nn["subject"]),
                    nn["n"].astype(float)))
    rows, notes = [], []
    for y, sid in sorted(keys):
        fp = fam_by.get((y, sid))
        fp = fp.sort_values("p_f") if fp is not None else pd.DataFrame(columns=["family", "p_f"])
        fnd = fp.loc[fp["p_f"] < alpha]
        if (fnd["family"] != COMBINED).any():   # `combined` merges the other families: never a second one
            fnd = fnd.loc[fnd["family"] != COMBINED]
        families = list(fnd["family"])
        pf = dict(zip(fnd["family"], fnd["p_f"]))
        corroborated = len(families) >= 2
        tier1 = [f for f in families if f != JOURNAL
                 and (pf[f] < strong or corroborated or fam_years.get((sid, f), 0) >= 2)]
        journal_ok = JOURNAL in pf and (pf[JOURNAL] < strong or corroborated or fam_years.get((sid, JOURNAL), 0) >= 2)
        tier = 1 if tier1 else 2 if journal_ok else 3
        works: dict[str, list[str]] = {}
        for f in families:
            t = tests_by[(y, sid, f)]
            works[f] = [_work(g, s) for g, s in zip(t.loc[t["adj"] < alpha, "grade"], t.loc[t["adj"] < alpha, "subject"])]
        reasons = []
        for f in families:
            m = int(tests_by[(y, sid, f)]["m"].iloc[0])
            reasons.append(f"{FAMILY_WORDS.get(f, f)} ({'; '.join(works[f])}): с поправкой на {m} "
                           f"{plural(m, 'работу', 'работы', 'работ')} школы {chance(pf[f])}")
        if tier == 3 and families:
            reasons.append("на уровне школы находка одна и без подтверждения другими признаками или другим годом")
        ob = off_by.get((y, sid))
        official_only = False
        if ob is not None:
            im = ob.loc[ob["sign"] == "inflated_mean"]
            weak = im.loc[~im["confirmed"]]
            if len(weak):
                reasons.append("официальный признак «Завышенный средний балл» ("
                               + "; ".join(f"{_work(g, s, pr)}: {n}" for g, s, pr, n in
                                           zip(weak["grade"], weak["subject"], weak["procedure"], weak["note"]))
                               + ") — отмечен по методике ФИОКО, внешних мер не требует")
            other = ob.loc[ob["sign"] != "inflated_mean"]
            unconf = other.loc[~other["sign"].map(fam_of).isin(families)]
            if len(unconf):
                from msoko.objectivity import SIGNS
                reasons.append("официальные признаки без подтверждения на уровне школы: "
                               + "; ".join(f"«{SIGNS[s][0]}» ({_work(g, j, pr)})" for s, g, j, pr in
                                           zip(unconf["sign"], unconf["grade"], unconf["subject"], unconf["procedure"])))
            official_only = not families and not bool(im["confirmed"].any())
        if not families:
            fl = flags_by.get((y, sid))
            if fl is not None and len(fl):
                cells = sorted({_work(g, s, pr) for g, s, pr in zip(fl["grade"], fl["subject"], fl["procedure"])})
                reasons.append(f"признаки в отдельных работах ({', '.join(cells)}) не подтверждаются на уровне школы "
                               "с поправкой на число её работ")
                official_only = False
        p_school = float(min(pf.values())) if pf else (float(fp["p_f"].min()) if len(fp) else np.nan)
        top = (np.nan, None)   # the strongest work of a found family (else of any flagged sign or official sign)
        if families:
            t = pd.concat([tests_by[(y, sid, f)] for f in families]).sort_values("adj", kind="stable").iloc[0]
            top = (t["grade"], t["subject"])
        else:
            fl = flags_by.get((y, sid))
            src = fl if fl is not None and len(fl) else off_by.get((y, sid))
            if src is not None and len(src):
                t = src.sort_values("p_value", kind="stable").iloc[0]
                top = (t["grade"], t["subject"])
        n_top = n_of.get((int(y), sid, float(top[0]) if pd.notna(top[0]) else np.nan, top[1]), np.nan)
        where = {"grade": top[0] if pd.notna(top[0]) else np.nan, "subject": top[1], "n": n_top}
        if not families:   # no school-level finding: a note, not the plan
            notes.append({"year": int(y), "school_id": str(sid), "official_only": official_only,
                          "reasons": "; ".join(reasons), "p_school": p_school, **where})
            continue
        if tier == 1:
            measures = list(dict.fromkeys(MEASURE_OF[f] for f in families
                                          if f in tier1 or (f == JOURNAL and journal_ok)))
        elif tier == 2:
            measures = [EXPERTISE]
        else:
            measures = [SELF_CHECK]
        all_works = sorted({w for f in families for w in works[f]})
        persistence = int(school_years.get(sid, 0))
        score = float(sum(-np.log10(max(p, 1e-300)) for p in pf.values()))
        score += bonus * max(persistence - 1, 0)
        rows.append({"year": int(y), "school_id": str(sid), "tier": tier, "measures": "; ".join(measures),
                     "reasons": "; ".join(reasons), "families": "; ".join(families), "works": "; ".join(all_works),
                     "n_works_flagged": len(all_works), "persistence": persistence,
                     "p_school": p_school, "score": round(score, 6), **where})
    out = _typed(pd.DataFrame(rows, columns=PLAN_COLUMNS)) if rows else _empty()
    out = out.sort_values(["year", "tier", "score", "school_id"], ascending=[True, True, False, True],
                          kind="stable").reset_index(drop=True)
    nt = _typed(pd.DataFrame(notes, columns=NOTE_COLUMNS)) if notes else _empty_notes()
    nt["official_only"] = nt["official_only"].astype(bool)
    return out, nt.sort_values(["year", "school_id"], kind="stable").reset_index(drop=True)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    df["grade"] = pd.array(pd.to_numeric(df["grade"]), dtype="Int64")
    df["n"] = pd.array(pd.to_numeric(df["n"]).round(), dtype="Int64")
    return df


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(
        PLAN_COLUMNS, ["int64", object, "int64", object, object, object, object, "int64", "int64",
                       "float64", "float64", "Int64", object, "Int64"])})


def _empty_notes() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(
        NOTE_COLUMNS, ["int64", object, bool, object, "float64", "Int64", object, "Int64"])})


def max_scores_of(vpr: pd.DataFrame | None) -> pd.DataFrame:
    """``year, grade, subject, max_score`` of each ВПР work (the largest maximum the export states)."""
    cols = ["year", "grade", "subject", "max_score"]
    if vpr is None or not len(vpr) or "max_score" not in vpr.columns:
        return pd.DataFrame(columns=cols)
    v = vpr[["year", "grade", "subject", "max_score"]].copy()
    v["max_score"] = pd.to_numeric(v["max_score"], errors="coerce")
    return v.groupby(["year", "grade", "subject"], observed=True)["max_score"].max().reset_index()[cols]
