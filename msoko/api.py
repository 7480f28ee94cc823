"""The processed data as a small API for an analyst in JupyterLab: ``msoko.open(processed_dir)``.

One entry point returns a :class:`Municipality`; from it, objects for what an analyst asks about —
:meth:`~Municipality.school`, :meth:`~Municipality.work`, :meth:`~Municipality.indicator`,
:meth:`~Municipality.signs`, :meth:`~Municipality.plan`. Every object has

- ``to_frame()`` — a pandas frame with numeric columns (sort, filter, export it);
- ``summary()`` — a short Russian text;
- ``_repr_html_()`` — a compact Russian table, shown when the object is a cell's value;
- ``plot(ax=None)`` — drawn by the same :mod:`msoko.plots` function the reports use; returns the Axes.

The frames come from the report layer's own queries (:mod:`msoko.report.indicators`,
:mod:`msoko.report.vpr`, :mod:`msoko.report.signs`): what an analyst sees here is what the reports
say. Nothing here writes to the processed folder; groups under the suppression threshold are left
out exactly as in the reports.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from msoko.errors import MsokoError
from msoko.report import data as rdata
from msoko.report import indicators as rind
from msoko.report import signs as rsigns
from msoko.report import vpr as rvpr
from msoko.report.fmt import GROUP_MUNI, GROUP_SCHOOL, GROUP_SIMILAR, esc, fmt, informativeness

__all__ = ["open", "Municipality", "School", "Work", "Indicator", "Signs", "Plan"]

# comparison groups an analyst names (``vs=``) → the label the reports use
VS_GROUPS = {"similar": GROUP_SIMILAR, "municipality": GROUP_MUNI}


def open(processed_dir: str | Path = "data/processed", config: str | Path | None = None) -> "Municipality":  # noqa: A001
    """Open the processed data of a run (``msoko compute`` output) for exploration.

    The thresholds shown (suppression, sufficiency) are those compute used (``config_used.json``); a
    ``config`` file is laid over them for display only — the computed tables stay as compute wrote them.

    >>> m = msoko.open("data/processed")           # doctest: +SKIP
    >>> m.school("sch220101").compare("vpr_quality", vs=["sch220102"])   # doctest: +SKIP
    """
    data = rdata.load(processed_dir)
    if config is not None:
        from dataclasses import replace

        from msoko.config import load_config

        data = replace(data, config=load_config(config), tables={})
    return Municipality(data)


# --------------------------------------------------------------------------------------- helpers

def _html(frame: pd.DataFrame, title: str, note: str = "") -> str:
    """A compact Russian table: numbers with a decimal comma, intervals in brackets, n and informativeness."""
    shown = frame.copy()
    if {"ci_low", "ci_high"} <= set(shown):
        shown["интервал"] = [
            "" if pd.isna(lo) or pd.isna(hi) else f"[{fmt(lo)}–{fmt(hi)}]" for lo, hi in zip(shown["ci_low"], shown["ci_high"])]
        shown = shown.drop(columns=["ci_low", "ci_high"])
    if "n" in shown:
        shown["информативность"] = shown["n"].map(lambda n: informativeness(n) if pd.notna(n) else "")
    body = shown.to_html(index=False, na_rep="—", escape=True,
                         float_format=lambda x: fmt(x), border=0, classes="msoko-api")
    head = f"<p><b>{esc(title)}</b></p>"
    tail = f"<p style='color:#555'>{esc(note)}</p>" if note else ""
    return head + body + tail


def _require(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if frame.empty:
        raise MsokoError(f"Нет данных: {what}.")
    return frame


class _View:
    """What every object shares: a frame, a Russian summary and an HTML form."""
    title = ""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - each view defines it
        raise NotImplementedError

    def summary(self) -> str:  # pragma: no cover - each view defines it
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return _html(self.to_frame(), self.title, self.summary())

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.summary()}>"


# --------------------------------------------------------------------------------------- municipality

@dataclass(repr=False)
class Municipality(_View):
    """All processed data of a run: tables, schools, and the objects below."""
    data: rdata.ReportData

    @property
    def title(self) -> str:
        return "Обработанные данные msoko"

    @property
    def years(self) -> list[int]:
        return self.data.years()

    @property
    def schools(self) -> pd.DataFrame:
        """The registry: ``school_id, name, municipality, …``."""
        return self.data.schools

    def table(self, name: str) -> pd.DataFrame:
        """A processed table by name (``indicators``, ``objectivity``, ``shnor_list`` …; docs/outputs.md)."""
        if name == "indicators":
            return pd.concat([self.data.indicators, self.data.indicator_items], ignore_index=True)
        if name == "objectivity":
            return self.data.objectivity
        if name == "vpr":
            return self.data.vpr
        t = self.data.table(name)
        if t.empty and not (self.data.processed_dir / f"{name}.parquet").exists():
            have = sorted(p.stem for p in self.data.processed_dir.glob("*.parquet"))
            raise MsokoError(f"Таблицы «{name}» нет в {self.data.processed_dir}. Есть: {', '.join(have)}.")
        return t

    def to_frame(self) -> pd.DataFrame:
        """The processed tables with their row counts."""
        rows = [(p.stem, len(pd.read_parquet(p, columns=[]))) for p in sorted(self.data.processed_dir.glob("*.parquet"))]
        return pd.DataFrame(rows, columns=["таблица", "строк"])

    def summary(self) -> str:
        s = self.data.schools
        munis = s["municipality"].dropna().astype(str).unique() if "municipality" in s else []
        ys = self.years
        span = f"{ys[0]}–{ys[-1]}" if len(ys) > 1 else (str(ys[0]) if ys else "нет лет")
        return (f"{len(s)} организаций, муниципалитетов: {len(munis)}; годы: {span}; "
                f"папка {self.data.processed_dir}")

    def _year(self, year: int | None) -> int:
        return rdata.resolve_year(self.data, year)

    def school(self, school_id: str, year: int | None = None) -> "School":
        return School(self, rdata.resolve_school(self.data, school_id), self._year(year))

    def work(self, year: int, grade: int, subject: str) -> "Work":
        return Work(self, int(year), int(grade), str(subject))

    def indicator(self, code: str, year: int | None = None, *, grade: int | None = None,
                  subject: str | None = None) -> "Indicator":
        if code not in set(self.data.catalogue["code"]):
            raise MsokoError(f"Показателя «{code}» нет в каталоге (indicator_catalogue.csv).")
        return Indicator(self, code, self._year(year), grade, subject)

    def signs(self, year: int | None = None, *, school: str | None = None, official: bool | None = None,
              flagged: bool = True) -> "Signs":
        return Signs(self, self._year(year), school, official, flagged)

    def plan(self, year: int | None = None) -> "Plan":
        return Plan(self, self._year(year))

    def name(self, school_id: str) -> str:
        return rdata.school_name(self.data, school_id)


# --------------------------------------------------------------------------------------- school

def _label(m: Municipality, school_id: str) -> str:
    return f"{m.name(school_id)} ({school_id})"


def _others(m: Municipality, vs, school_id: str) -> tuple[list[str], list[str]]:
    """``vs`` → (report groups to keep, other school ids to add)."""
    if vs is None:
        return [GROUP_SIMILAR, GROUP_MUNI], []
    items = [vs] if isinstance(vs, str) else list(vs)
    groups, ids = [], []
    for v in items:
        if v in VS_GROUPS:
            groups.append(VS_GROUPS[v])
        else:
            ids.append(rdata.resolve_school(m.data, str(v)))
    return groups, [i for i in ids if i != school_id]


@dataclass(repr=False)
class School(_View):
    """One school in one year: its indicators against the municipality and similar schools."""
    m: Municipality
    school_id: str
    year: int

    @property
    def title(self) -> str:
        return f"{_label(self.m, self.school_id)}, {self.year} год"

    def to_frame(self) -> pd.DataFrame:
        """The school's indicators of the year (whole school, no breakdowns): value, interval, n and the
        municipal and similar schools' values — as ``indicators.parquet`` holds them."""
        d = rind.school_year_rows(self.m.data, self.year, self.school_id)
        if d.empty:
            return pd.DataFrame(columns=["indicator", "name", "value", "ci_low", "ci_high", "n"])
        d = d[d["grade"].isna() & d["subject"].isna()]
        names = self.m.data.catalogue.set_index("code")["name"]
        out = pd.DataFrame({
            "indicator": d["indicator"].astype(str), "name": d["indicator"].map(names),
            "value": d["value"].where(~d["suppressed"].fillna(False).astype(bool)),
            "ci_low": d["ci_low"], "ci_high": d["ci_high"], "n": d["n"],
            "municipality_value": d["municipality_value"], "similar_value": d["similar_value"]})
        return out.reset_index(drop=True)

    def summary(self) -> str:
        row = rdata.school_row(self.m.data, self.school_id)
        muni = row.get("municipality")
        shown = self.to_frame()["value"].notna().sum()
        return f"{self.title}; муниципалитет: {muni}; показателей со значением: {shown}"

    def compare(self, code: str, vs=None, *, grade: int | None = None, subject: str | None = None) -> pd.DataFrame:
        """``group, value, ci_low, ci_high, n`` of one indicator for the school and its comparison groups:
        ``vs`` is ``"similar"``, ``"municipality"``, other schools' ids, or a list of these (default: similar
        schools and the municipality)."""
        groups, ids = _others(self.m, vs, self.school_id)
        d = rind.indicator_groups(self.m.data, self.school_id, self.year, code, grade, subject)
        d = d[d["group"].isin([GROUP_SCHOOL] + groups)].copy()
        d.loc[d["group"] == GROUP_SCHOOL, "group"] = _label(self.m, self.school_id)
        for sid in ids:
            o = rind.indicator_groups(self.m.data, sid, self.year, code, grade, subject)
            o = o[o["group"] == GROUP_SCHOOL].assign(group=_label(self.m, sid))
            d = pd.concat([d, o], ignore_index=True)
        return d.reset_index(drop=True)

    def trend(self, code: str, *, grade: int | None = None, subject: str | None = None, years: int = 3) -> pd.DataFrame:
        """``year, group, value, ci_low, ci_high, n`` over the last ``years`` years."""
        return rind.indicator_trend(self.m.data, self.school_id, code, self.year, grade=grade, subject=subject,
                                    n_years=years)

    def work(self, grade: int, subject: str) -> "SchoolWork":
        return SchoolWork(self.m, self.school_id, self.year, int(grade), str(subject))

    def signs(self, **kw) -> "Signs":
        return self.m.signs(self.year, school=self.school_id, **kw)

    def plot(self, code: str = "vpr_quality", vs=None, *, grade=None, subject=None, ax=None):
        """One indicator against the comparison groups (the reports' interval chart)."""
        from msoko.plots.indicators import plot_indicator

        meta = rind.indicator_meta(self.m.data, code)
        d = _require(self.compare(code, vs, grade=grade, subject=subject), f"показатель «{code}» школы {self.school_id}")
        ax = plot_indicator(d, unit=str(meta.get("unit") or ""), ax=ax)
        ax.set_title(str(meta.get("name") or code))
        return ax

    def plot_trend(self, code: str = "vpr_quality", *, ax=None, **kw):
        from msoko.plots.indicators import plot_trend

        meta = rind.indicator_meta(self.m.data, code)
        ax = plot_trend(_require(self.trend(code, **kw), f"динамика «{code}»"), unit=str(meta.get("unit") or ""), ax=ax)
        ax.set_title(str(meta.get("name") or code))
        return ax


@dataclass(repr=False)
class SchoolWork(_View):
    """One ВПР work of one school: tasks, scores, journal marks against the comparison groups."""
    m: Municipality
    school_id: str
    year: int
    grade: int
    subject: str

    @property
    def title(self) -> str:
        return f"{_label(self.m, self.school_id)}: ВПР {self.year}, {self.grade} класс, {self.subject}"

    def tasks(self) -> pd.DataFrame:
        """``task, label, level, group, value (% of max), n`` — the school, similar schools, the municipality."""
        return rvpr.task_completion(self.m.data, self.school_id, self.year, self.grade, self.subject)

    def scores(self) -> pd.DataFrame:
        """``group, score, share (%), n`` — the distribution of primary scores."""
        return rvpr.score_distribution(self.m.data, self.school_id, self.year, self.grade, self.subject)

    def boundaries(self) -> dict[int, float]:
        """The lowest primary score of each mark: ``{3: …, 4: …, 5: …}``."""
        return rvpr.mark_boundaries(self.m.data, self.year, self.grade, self.subject)

    def journal(self) -> pd.DataFrame:
        """``group, category, share, n`` — ВПР mark against the journal mark (понизили / подтвердили / повысили)."""
        return rvpr.journal_comparison(self.m.data, self.school_id, self.year, self.grade, self.subject)

    def to_frame(self) -> pd.DataFrame:
        t = self.tasks()
        if t.empty:
            return t
        wide = t.set_index(["task", "label", "level", "group"])["value"].unstack("group")
        order = [g for g in (GROUP_SCHOOL, GROUP_SIMILAR, GROUP_MUNI) if g in wide.columns]
        first = t.drop_duplicates("task")[["task", "label", "level"]]
        wide = wide.reset_index()[["task", "label", "level"] + order]
        return first.merge(wide, on=["task", "label", "level"], how="left").rename_axis(columns=None)

    def summary(self) -> str:
        t = self.tasks()
        n = t.loc[t["group"] == GROUP_SCHOOL, "n"].max() if not t.empty else math.nan
        return f"{self.title}; участников: {fmt(n, 0) if pd.notna(n) else 'нет данных'}"

    def plot(self, ax=None):
        """Task completion against similar schools and the municipality."""
        from msoko.plots.vpr import plot_task_completion

        thr = rdata.sufficiency_thresholds(self.m.data, self.year)
        return plot_task_completion(_require(self.tasks(), self.title), thresholds=thr, ax=ax)

    def plot_scores(self, ax=None):
        """The score histogram with the mark boundaries drawn."""
        from msoko.plots.vpr import plot_score_histogram

        return plot_score_histogram(_require(self.scores(), self.title), boundaries=self.boundaries(),
                                    max_score=rvpr.max_score(self.m.data, self.year, self.grade, self.subject), ax=ax)

    def plot_journal(self, ax=None):
        from msoko.plots.vpr import plot_vpr_vs_journal

        return plot_vpr_vs_journal(_require(self.journal(), self.title), ax=ax)


# --------------------------------------------------------------------------------------- work

@dataclass(repr=False)
class Work(_View):
    """One ВПР work (year, grade, subject) across the schools."""
    m: Municipality
    year: int
    grade: int
    subject: str

    @property
    def title(self) -> str:
        return f"ВПР {self.year}, {self.grade} класс, {self.subject}"

    def _rows(self, code: str) -> pd.DataFrame:
        d = self.m.data.indicators
        return d[(d["year"] == self.year) & (d["indicator"] == code) & (d["grade"] == self.grade)
                 & (d["subject"] == self.subject)]

    def to_frame(self, code: str = "vpr_quality") -> pd.DataFrame:
        """One indicator of the work for every school (sorted by name — compared, not ranked)."""
        d = self._rows(code)
        d = d[d["level"] == "school"]
        sup = d["suppressed"].fillna(False).astype(bool)
        out = pd.DataFrame({"school_id": d["school_id"].astype(str),
                            "name": d["school_id"].astype(str).map(self.m.name),
                            "value": d["value"].where(~sup), "ci_low": d["ci_low"].where(~sup),
                            "ci_high": d["ci_high"].where(~sup), "n": d["n"]})
        return out.sort_values(["name", "school_id"]).reset_index(drop=True)

    def summary(self) -> str:
        d = self.to_frame()
        return f"{self.title}: школ {len(d)}, участников {fmt(d['n'].sum(), 0)}"

    def school(self, school_id: str) -> SchoolWork:
        return SchoolWork(self.m, rdata.resolve_school(self.m.data, school_id), self.year, self.grade, self.subject)

    def compare_tasks(self, schools: Sequence[str]) -> pd.DataFrame:
        """``task, label, level, group, value, n`` for several schools and the municipality, on one frame
        (the school rows labelled with names and logins)."""
        frames = []
        for i, sid in enumerate(schools):
            t = self.school(sid).tasks()
            keep = [GROUP_SCHOOL] + ([GROUP_MUNI] if i == 0 else [])
            t = t[t["group"].isin(keep)].copy()
            t.loc[t["group"] == GROUP_SCHOOL, "group"] = _label(self.m, str(sid))
            frames.append(t)
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if out.empty:
            return out
        # the schools first, the municipality last (the chart draws the first group as bars)
        last = out["group"] == GROUP_MUNI
        return pd.concat([out[~last], out[last]], ignore_index=True)

    def bunching(self) -> pd.DataFrame:
        """Schools whose scores pile up just above a mark boundary: msoko's ``bunching`` evidence for
        this work (value, p-value, flagged), as compute wrote it."""
        o = self.m.data.objectivity
        if o.empty:
            return pd.DataFrame()
        o = o[(o["year"] == self.year) & (o["grade"] == self.grade) & (o["subject"] == self.subject)
              & (o["sign"] == "bunching")]
        return o.assign(name=o["school_id"].astype(str).map(self.m.name))[
            ["school_id", "name", "value", "p_value", "flagged", "n", "detail"]].sort_values("name").reset_index(drop=True)

    def plot(self, schools: Sequence[str] | None = None, ax=None):
        """Task completion of the given schools against the municipality."""
        from msoko.plots.vpr import plot_task_completion

        ids = list(schools) if schools else list(self.to_frame()["school_id"][:1])
        thr = rdata.sufficiency_thresholds(self.m.data, self.year)
        return plot_task_completion(_require(self.compare_tasks(ids), self.title), thresholds=thr, ax=ax)


# --------------------------------------------------------------------------------------- indicator

@dataclass(repr=False)
class Indicator(_View):
    """One indicator of one year for every school, with the municipal value."""
    m: Municipality
    code: str
    year: int
    grade: int | None = None
    subject: str | None = None

    @property
    def meta(self) -> dict:
        return rind.indicator_meta(self.m.data, self.code)

    @property
    def title(self) -> str:
        part = f", {self.grade} кл." if self.grade else ""
        part += f", {self.subject}" if self.subject else ""
        return f"{self.meta.get('name', self.code)}{part} — {self.year}"

    def _rows(self, level: str) -> pd.DataFrame:
        d = self.m.data.indicators
        d = d[(d["year"] == self.year) & (d["indicator"] == self.code) & (d["level"] == level)]
        d = d[d["grade"].isna()] if self.grade is None else d[d["grade"] == self.grade]
        return d[d["subject"].isna()] if self.subject is None else d[d["subject"] == self.subject]

    def to_frame(self) -> pd.DataFrame:
        d = self._rows("school")
        sup = d["suppressed"].fillna(False).astype(bool)
        out = pd.DataFrame({"school_id": d["school_id"].astype(str), "name": d["school_id"].astype(str).map(self.m.name),
                            "value": d["value"].where(~sup), "ci_low": d["ci_low"].where(~sup),
                            "ci_high": d["ci_high"].where(~sup), "n": d["n"],
                            "vs_municipality": d["vs_municipality"], "vs_similar": d["vs_similar"]})
        return out.sort_values(["name", "school_id"]).reset_index(drop=True)

    def municipal(self) -> pd.DataFrame:
        d = self._rows("municipality")
        return pd.DataFrame({"municipality": d["school_id"].astype(str), "value": d["value"],
                             "ci_low": d["ci_low"], "ci_high": d["ci_high"], "n": d["n"]}).reset_index(drop=True)

    def summary(self) -> str:
        d, mu = self.to_frame(), self.municipal()
        unit = str(self.meta.get("unit") or "")
        mv = "; ".join(f"{r.municipality}: {fmt(r.value)} {unit}".strip() for r in mu.itertuples()) or "нет"
        below = int((d["vs_municipality"] == -1).sum()) if len(d) else 0
        above = int((d["vs_municipality"] == 1).sum()) if len(d) else 0
        return (f"{self.title}: школ со значением {int(d['value'].notna().sum())} из {len(d)}; "
                f"муниципалитет — {mv}; достоверно хуже муниципалитета: {below}, лучше: {above}")

    def plot(self, school: str | None = None, vs=None, ax=None):
        """One school against its comparison groups (default: the first school with a value)."""
        d = self.to_frame()
        sid = school or (d.loc[d["value"].notna(), "school_id"].iloc[0] if d["value"].notna().any() else None)
        if sid is None:
            raise MsokoError(f"Нет значений показателя «{self.code}» за {self.year} год.")
        return self.m.school(sid, self.year).plot(self.code, vs, grade=self.grade, subject=self.subject, ax=ax)


# --------------------------------------------------------------------------------------- objectivity

@dataclass(repr=False)
class Signs(_View):
    """Signs of non-objectivity (official ФИОКО and msoko's evidence) of a year, one school or all."""
    m: Municipality
    year: int
    school: str | None = None
    official: bool | None = None
    flagged: bool = True

    @property
    def title(self) -> str:
        who = _label(self.m, self.school) if self.school else "все школы"
        return f"Признаки необъективности, {self.year} год — {who}"

    def to_frame(self) -> pd.DataFrame:
        """``school_id, name, grade, subject, sign, title, official, value, threshold, p_value, n, flagged, detail``."""
        o = self.m.data.objectivity
        if o.empty:
            return pd.DataFrame()
        o = o[o["year"] == self.year]
        if self.school is not None:
            o = o[o["school_id"].astype(str) == str(self.school)]
        if self.official is not None:
            o = o[o["official"].fillna(False).astype(bool) == self.official]
        if self.flagged:
            o = o[o["flagged"].fillna(False).astype(bool)]
        out = o.assign(name=o["school_id"].astype(str).map(self.m.name), title=o["sign"].map(rsigns.sign_name))
        cols = ["school_id", "name", "grade", "subject", "sign", "title", "official", "value", "threshold",
                "p_value", "n", "flagged", "detail"]
        return out.reindex(columns=cols).sort_values(["name", "grade", "subject", "sign"]).reset_index(drop=True)

    def summary(self) -> str:
        d = self.to_frame()
        if d.empty:
            return f"{self.title}: нет отмеченных признаков"
        by = d.groupby("title").size().sort_values(ascending=False)
        parts = "; ".join(f"{k} — {v}" for k, v in by.items())
        out = f"{self.title}: {len(d)} отметок у {d['school_id'].nunique()} школ ({parts})"
        pc = rsigns.plan_counts(self.m.data, self.year) if self.school is None else None
        if pc is not None:   # the flags are works; what is decided about schools is the plan of work
            out += (f". Это отдельные работы; по плану работы (m.plan()) меры — у {int(pc['plan_measures'])} школ, "
                    f"самоанализ — у {int(pc['plan_tier3'])}")
        return out

    def explain(self, grade: int, subject: str) -> pd.DataFrame:
        """Every sign computed for one work of the school (flagged or not): what lies behind a flag."""
        if self.school is None:
            raise MsokoError("Укажите школу: m.signs(school=…).explain(класс, предмет).")
        s = Signs(self.m, self.year, self.school, self.official, flagged=False).to_frame()
        return s[(s["grade"] == grade) & (s["subject"] == subject)].reset_index(drop=True)

    def plot(self, ax=None):
        """The number of flags by sign (a bar per sign)."""
        import matplotlib.pyplot as plt

        d = _require(self.to_frame(), self.title)
        by = d.groupby("title").size().sort_values()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.4 * len(by) + 1))
        ax.barh(list(by.index), list(by.values), color="#4c72b0")
        ax.set_xlabel("Отмечено работ")
        ax.set_title(self.title)
        return ax


@dataclass(repr=False)
class Plan(_View):
    """The plan of work on objectivity of a year: schools, measures and reasons, as the reports show it."""
    m: Municipality
    year: int

    @property
    def title(self) -> str:
        return f"План работы по объективности, {self.year} год"

    def to_frame(self) -> pd.DataFrame:
        plan = self.m.data.table("objectivity_plan")
        if not plan.empty:
            p = plan[plan["year"] == self.year]
            return p.assign(name=p["school_id"].astype(str).map(self.m.name)).reset_index(drop=True)
        return rsigns.plan_of_work(self.m.data, self.year)

    def notes(self) -> pd.DataFrame:
        """Schools outside the plan with flags that do not hold at the school level (official ФИОКО signs
        that similar schools do not confirm, cell flags that school-level control does not keep): compute's
        ``objectivity_plan_notes`` of the year, with the school's name. Information, not a list to act on."""
        n = self.m.data.table("objectivity_plan_notes")
        if n.empty:
            return n
        n = n[n["year"] == self.year]
        return n.assign(name=n["school_id"].astype(str).map(self.m.name)).reset_index(drop=True)

    def summary(self) -> str:
        d, n = self.to_frame(), self.notes()
        extra = ""
        if len(n):
            official = (n.groupby("school_id")["official_only"].all().sum()) if "official_only" in n else 0
            extra = (f"; вне плана, для сведения (m.plan().notes()) — {n['school_id'].nunique()}"
                     + (f", из них только официальные признаки ФИОКО — {official}" if official else ""))
        if d.empty:
            return f"{self.title}: школ нет" + extra
        if "tier" in d:
            tiers = "; ".join(f"уровень {int(t)} — {k}" for t, k in d.groupby("tier").size().items())
            return f"{self.title}: школ {len(d)} ({tiers})" + extra
        return f"{self.title}: школ {len(d)}" + extra

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        d = _require(self.to_frame(), self.title)
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 2.5))
        if "tier" in d:
            by = d.groupby("tier").size()
            ax.bar([f"Уровень {int(t)}" for t in by.index], list(by.values), color="#dd8452")
        else:
            ax.bar(["Школ в плане"], [len(d)], color="#dd8452")
        ax.set_ylabel("Школ")
        ax.set_title(self.title)
        return ax


def to_excel(frames: dict[str, pd.DataFrame] | Iterable[tuple[str, pd.DataFrame]], path: str | Path) -> Path:
    """Write frames (sheet name → frame) to one workbook, numbers kept as numbers. Returns the path."""
    items = frames.items() if isinstance(frames, dict) else frames
    path = Path(path)
    with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
        for name, df in items:
            df.to_excel(xw, sheet_name=str(name)[:31], index=False)
    return path
