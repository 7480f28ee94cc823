"""Task specifications checked against the scores (``spec_quality.parquet``).

A ФИС ОКО specification gives each task's maximum score. Some do not fit the export they are
paired with: German, grade 7 (2021) specifies tasks 2–4 at 5, 6 and 6 points, yet none of 422
pupils scored above 2 — every school then sits at 33 % of tasks «выполнено» and recommendations
follow from the specification's error, not from the pupils.

:func:`assess` compares, per ВПР work (year, grade, subject) and task, the specified maximum
with the best score seen and the number of pupils ``n``:

- ``above_max`` — a score above the specified maximum was kept by ingest (many pupils had it,
  so the specification, not the rows, is wrong);
- ``max_unreached`` — ``n ≥ n_min`` pupils and none reached the maximum;
- ``ok`` otherwise (a small ``n`` proves nothing).

A work whose misfitting tasks are at least ``misfit_min_tasks`` and ``misfit_share`` of its tasks,
or whose task maxima (the specified one, or the observed one where it is higher, as ingest takes
it) do not add up to the work's maximum by the mark scale, is ``misfit``:
no task or skill verdict is drawn from it (task completion, level completion, tasks above the
threshold and the recommendations built on them); its primary scores and marks still count. In
a work that fits, a single misfitting task is withheld alone. A work whose tasks differ from the
specification (``tasks_mismatch``) or that has none (``no_spec``) is reported as such; msoko then
uses the observed maxima and no levels, as before.

One row per task plus one row per work (``task`` empty) with the work's verdict. ``task_verdicts``
says whether task indicators are drawn for that row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from msoko import ru

COLUMNS = ["year", "grade", "subject", "task", "spec_max", "observed_max", "n", "verdict", "task_verdicts",
           "reason"]
TASK_VERDICTS = ("ok", "above_max", "max_unreached", "not_applied")
WORK_VERDICTS = ("ok", "partial", "misfit", "tasks_mismatch", "no_spec")
VERDICTS = {
    "ok": "согласуется", "above_max": "балл выше максимума", "max_unreached": "максимум не достигается",
    "not_applied": "спецификация не применяется", "partial": "отдельные задания не согласуются",
    "misfit": "спецификация не подходит", "tasks_mismatch": "задания не совпадают", "no_spec": "нет спецификации",
}
DEFAULTS = {"n_min": 100, "misfit_min_tasks": 2, "misfit_share": 0.2}


def _g(x: float) -> str:
    return ru.short(x)


def _task_order(task: str):
    try:
        return (0, float(str(task).split(".")[0]), str(task))
    except ValueError:
        return (1, 0.0, str(task))


def assess(cells: pd.DataFrame, specs: pd.DataFrame, scale_max: pd.DataFrame | None = None,
           config: dict | None = None) -> pd.DataFrame:
    """The spec_quality table.

    ``cells``: ``year, grade, subject, task, observed_max, n`` (one row per task of a work);
    ``specs``: ``grade, subject, task, spec_max``; ``scale_max``: ``year, grade, subject, max_score``
    (the work's maximum by the mark scale, optional); ``config``: the ``[spec_quality]`` section.
    """
    p = {**DEFAULTS, **(config or {})}
    n_min, min_tasks, share = int(p["n_min"]), int(p["misfit_min_tasks"]), float(p["misfit_share"])
    spec = {(int(g), str(s)): dict(zip(d["task"].astype(str), d["spec_max"].astype(float)))
            for (g, s), d in specs.groupby(["grade", "subject"])} if len(specs) else {}
    smax = {}
    if scale_max is not None and len(scale_max):
        sm = scale_max.dropna(subset=["max_score"])
        smax = {(int(y), int(g), str(s)): float(m) for y, g, s, m in
                zip(sm["year"], sm["grade"], sm["subject"], sm["max_score"])}
    rows = []
    for (y, g, s), d in cells.groupby(["year", "grade", "subject"], sort=True):
        y, g, s = int(y), int(g), str(s)
        d = d.assign(task=d["task"].astype(str))
        names = d["task"].tolist()
        d = d.iloc[sorted(range(len(d)), key=lambda i: _task_order(names[i]))]
        sp = spec.get((g, s))
        n_work = int(d["n"].max()) if len(d) else 0
        obs_sum = float(d["observed_max"].sum())
        if sp is None or set(d["task"]) != set(sp):
            verdict = "no_spec" if sp is None else "tasks_mismatch"
            reason = ("нет спецификации заданий — проценты выполнения считаются от наблюдаемого максимума, "
                      "уровни сложности неизвестны" if sp is None else
                      f"задания выгрузки ({len(d)}) не совпадают со спецификацией ({len(sp)}) — спецификация не "
                      "применяется: проценты выполнения от наблюдаемого максимума, уровни сложности неизвестны")
            rows.append((y, g, s, None, float(sum(sp.values())) if sp else np.nan, obs_sum, n_work, verdict, True,
                         reason))
            for r in d.itertuples(index=False):
                rows.append((y, g, s, r.task, sp.get(r.task, np.nan) if sp else np.nan, float(r.observed_max),
                             int(r.n), "not_applied", True, reason))
            continue
        task_rows, bad = [], []
        for r in d.itertuples(index=False):
            mx, obs, n = float(sp[r.task]), float(r.observed_max), int(r.n)
            if obs > mx + 1e-9:
                v, why = "above_max", (f"наблюдаемый балл {_g(obs)} выше максимума спецификации {_g(mx)}: "
                                       "при загрузке такие баллы признаны ошибкой спецификации, а не строк")
            elif obs < mx - 1e-9 and n >= n_min:
                v, why = "max_unreached", (f"максимум по спецификации — {_g(mx)}, но ни один из {n} участников "
                                           f"не получил больше {_g(obs)}")
            else:
                v, why = "ok", ("согласуется со спецификацией" if obs >= mx - 1e-9 else
                                f"максимум {_g(mx)} не достигнут, но участников мало ({n} < {n_min}) — "
                                "несогласием не считается")
            if v != "ok":
                bad.append(r.task)
            task_rows.append([y, g, s, r.task, mx, obs, n, v, v == "ok", why])
        spec_sum = float(sum(sp.values()))
        # the work's maximum as ingest took it: a maximum exceeded by many pupils is replaced by the observed one
        eff_sum = float(sum(max(tr[4], tr[5]) for tr in task_rows))
        scale = smax.get((y, g, s))
        total_off = scale is not None and abs(scale - eff_sum) > 1e-9
        misfit = total_off or (len(bad) >= min_tasks and len(bad) >= share * len(task_rows))
        if misfit:
            parts = []
            if bad:
                parts.append(f"заданий, не согласующихся с максимумами по спецификации, — {len(bad)} из "
                             f"{len(task_rows)} (№ {', '.join(bad)})")
            if total_off:
                parts.append(f"сумма максимумов заданий ({_g(eff_sum)}) не равна максимальному баллу работы "
                             f"по шкале отметок ({_g(scale)})")
            reason = ("спецификация не подходит к выгрузке: " + "; ".join(parts) + " — выводы по заданиям и "
                      "умениям не делаются; первичные баллы и отметки за работу учитываются")
            verdict = "misfit"
            for tr in task_rows:
                tr[8] = False
        elif bad:
            verdict = "partial"
            reason = ((f"задания № {', '.join(bad)} не согласуются" if len(bad) > 1 else
                       f"задание № {bad[0]} не согласуется") + " с максимумами по спецификации — по "
                      + ("ним" if len(bad) > 1 else "нему") + " выводы не делаются; остальные задания и работа "
                      "в целом учитываются")
        else:
            verdict, reason = "ok", "спецификация согласуется с выгрузкой"
        rows.append((y, g, s, None, spec_sum, obs_sum, n_work, verdict, verdict != "misfit", reason))
        rows.extend(tuple(tr) for tr in task_rows)
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.astype({"year": "int64", "grade": "int64", "spec_max": "float64", "observed_max": "float64",
                       "n": "int64", "task_verdicts": "bool"})


def withheld(table: pd.DataFrame) -> pd.DataFrame:
    """``year, grade, subject, task`` of the tasks no verdict may be drawn from."""
    t = table[table["task"].notna() & ~table["task_verdicts"]]
    return t[["year", "grade", "subject", "task"]].reset_index(drop=True)


def warnings_ru(table: pd.DataFrame) -> list[str]:
    """One Russian sentence per work whose specification does not fit (for logs and reports)."""
    w = table[table["task"].isna() & table["verdict"].isin(["misfit", "partial", "tasks_mismatch"])]
    return [f"ВПР {int(r.year)}, {int(r.grade)} класс, {r.subject}: {r.reason}." for r in w.itertuples(index=False)]
