"""The demo through the real ingest path, and its marginals against the real Altai sample.

- ``msoko ingest`` on the demo: zero rejected rows, every file balanced
  (rows read = rows written + rejected), and the ВПР row count equals the rows of the
  workbooks counted independently with openpyxl.
- Marginals for ВПР grades 4–5, Russian and maths (2021 in the real sample and in a
  40-school, one-year demo, cells without planted manipulations): distribution of marks, share of «2», Spearman and Pearson correlation of the
  journal mark with the primary score, and the spread between schools (SD of the school
  mean % of the maximum). Real figures are computed here from the real workbooks (pandas),
  demo figures from the ingested vpr.parquet. Tolerances are stated next to each assert.
"""
from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from msoko.demo.subjects import vpr_file_name

# the 2021 ВПР scales: min primary score for «3», «4», «5»; and the maxima
SCALES = {(4, "Математика"): (6, 10, 15, 20), (5, "Математика"): (7, 11, 15, 20),
          (4, "Русский язык"): (14, 24, 33, 38), (5, "Русский язык"): (18, 29, 39, 45)}
CELLS = list(SCALES)


def _mark(score, b3, b4, b5):
    return np.where(score >= b5, 5, np.where(score >= b4, 4, np.where(score >= b3, 3, 2)))


def figures(df: pd.DataFrame) -> dict:
    """df: school_id, journal (float, NaN if none), score, max_score, mark — present students."""
    out = {}
    for m in (2, 3, 4, 5):
        out[f"mark{m}"] = float((df["mark"] == m).mean())
    ok = df.journal.notna()
    out["spearman"] = float(df.loc[ok, "journal"].corr(df.loc[ok, "score"], method="spearman"))
    out["pearson"] = float(df.loc[ok, "journal"].corr(df.loc[ok, "score"]))
    pct = df.score / df.max_score * 100
    g = pd.DataFrame({"s": df.school_id, "p": pct}).groupby("s").p.agg(["mean", "size"])
    out["school_sd"] = float(g.loc[g["size"] >= 5, "mean"].std())
    return out


@pytest.fixture(scope="module")
def real_figures(real_data) -> dict:
    res = {}
    for g, s in CELLS:
        p = real_data / "vpr_results" / "2021" / str(g) / vpr_file_name(g, s, 2021)
        rows = CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python()
        d = pd.DataFrame(rows[1:], columns=[str(h) for h in rows[0]])
        d = d[d["вариант"].astype(str) != "отсутствовал"]
        score = pd.to_numeric(d["всего баллов"], errors="coerce")
        j = pd.to_numeric(d["отметка за предыдущую четверть/триместр"].astype(str).str.strip(), errors="coerce")
        b3, b4, b5, mx = SCALES[(g, s)]
        df = pd.DataFrame({"school_id": d["логин школы"].to_numpy(), "journal": j.where(j.between(2, 5)).to_numpy(),
                           "score": score.to_numpy(), "max_score": float(mx)}).dropna(subset=["score"])
        df["mark"] = _mark(df.score, b3, b4, b5)
        res[(g, s)] = figures(df)
    return res


@pytest.fixture(scope="module")
def ingested(demo_raw, tmp_path_factory):
    from msoko.ingest import ingest

    out = tmp_path_factory.mktemp("demo_ingest")
    result = ingest(raw_dir=demo_raw, processed_dir=out, jobs=1)
    return result, out


def test_ingest_has_no_rejects_and_balances(ingested, demo_raw):
    import openpyxl

    result, out = ingested
    assert result.ok
    assert result.rows_rejected == 0
    assert all(f.balanced for f in result.files)
    rej = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    assert len(rej) == 0
    rep = pd.read_csv(out / "ingest_report.csv", encoding="utf-8-sig")
    assert (rep.rows_read == rep.rows_written + rep.rows_rejected).all()
    assert (rep.rows_rejected == 0).all()
    # the ВПР rows: independent count of the workbooks' data rows (<row> elements of the sheet XML)
    n = 0
    for p in sorted((demo_raw / "vpr").rglob("*.xlsx")):
        with zipfile.ZipFile(p) as zf:
            n += zf.read("xl/worksheets/sheet1.xml").count(b"<row ") - 1
    vpr = pd.read_parquet(out / "vpr.parquet")
    assert len(vpr) == n
    # every template table arrives with all its rows
    for t in ("contingent", "gia", "olympiad", "teachers", "mkdo", "preschool", "measures"):
        rows = openpyxl.load_workbook(demo_raw / "templates" / f"{t}.xlsx", read_only=True).active.max_row - 1
        assert len(pd.read_parquet(out / f"{t}.parquet")) == rows, t


def test_ingested_marks_follow_the_scales(ingested):
    _, out = ingested
    v = pd.read_parquet(out / "vpr.parquet")
    v = v[~v.absent]
    for (g, s), (b3, b4, b5, mx) in SCALES.items():
        d = v[(v.grade == g) & (v.subject == s)]
        assert len(d) > 0 and d["mark"].notna().all(), (g, s)   # every demo year has a scale
        assert (d["mark"].astype(int).to_numpy() == _mark(d.primary_score.to_numpy(), b3, b4, b5)).all()
        assert (d.max_score == mx).all()


@pytest.fixture(scope="module")
def municipality(tmp_path_factory):
    """A default-sized demo (40 schools) for one year, ingested: the comparison needs enough schools
    and a realistic density of planted manipulations (the 14-school session demo packs 30 cells)."""
    from msoko.demo import generate
    from msoko.ingest import ingest

    root = tmp_path_factory.mktemp("demo40")
    generate(out_dir=root / "raw", seed=11, n_schools=40, years=(2021, 2021))
    result = ingest(raw_dir=root / "raw", processed_dir=root / "proc", jobs=1)
    assert result.rows_rejected == 0
    return result, root / "proc"


@pytest.fixture(scope="module")
def demo_figures(municipality) -> dict:
    _, out = municipality
    v = pd.read_parquet(out / "vpr.parquet")
    v = v[~v.absent]
    # the model's marginals: cells with a planted manipulation are left out (they are deliberate
    # departures; a strong inflated-journal cell of 90 children alone moves the pooled Spearman by 0.1)
    truth = pd.read_csv(out.parent / "raw" / "_truth" / "objectivity_cells.csv")
    keys = ["year", "school_id", "grade", "subject"]
    v = v.merge(truth[keys].assign(planted=True), on=keys, how="left")
    v = v[v.planted.isna()]
    res = {}
    for g, s in CELLS:
        d = v[(v.grade == g) & (v.subject == s)]
        df = pd.DataFrame({"school_id": d.school_id.to_numpy(),
                           "journal": d.journal_mark.astype("float64").to_numpy(),
                           "score": d.primary_score.to_numpy(), "max_score": d.max_score.to_numpy(),
                           "mark": d["mark"].astype("float64").to_numpy()})
        res[(g, s)] = figures(df)
    return res


@pytest.mark.realdata
def test_marginals_resemble_the_real_sample(real_figures, demo_figures):
    rows = []
    for cell in CELLS:
        r, d = real_figures[cell], demo_figures[cell]
        rows.append((cell, r, d))
        for m in (2, 3, 4, 5):
            # mark shares within 10 percentage points
            assert abs(d[f"mark{m}"] - r[f"mark{m}"]) < 0.10, (cell, m, d, r)
        # share of «2» within 6 points and both small (< 20 %)
        assert abs(d["mark2"] - r["mark2"]) < 0.06, (cell, d, r)
        # journal mark ~ score: correlations within 0.12
        assert abs(d["spearman"] - r["spearman"]) < 0.12, (cell, d, r)
        assert abs(d["pearson"] - r["pearson"]) < 0.12, (cell, d, r)
        # between-school spread: ratio within [0.6, 1.7]
        assert 0.6 < d["school_sd"] / r["school_sd"] < 1.7, (cell, d, r)


if __name__ == "__main__":  # print the comparison table: python tests/test_demo_realdata.py
    import tempfile
    from pathlib import Path

    from msoko.demo import generate
    from msoko.ingest import ingest

    real_root = Path(__file__).resolve().parents[2] / "shared" / "data" / "vpr-altai"
    with tempfile.TemporaryDirectory() as tmp:
        generate(out_dir=Path(tmp) / "raw", seed=11, n_schools=40, years=(2021, 2021))
        ingest(raw_dir=Path(tmp) / "raw", processed_dir=Path(tmp) / "proc", jobs=1)
        rf = real_figures.__wrapped__(real_root)
        df = demo_figures.__wrapped__((None, Path(tmp) / "proc"))
        print("demo: 40 schools, 2021, clean cells; real: Altai 2021")
    for cell in CELLS:
        print(cell)
        for k in rf[cell]:
            print(f"   {k:10s} real {rf[cell][k]:.3f}   demo {df[cell][k]:.3f}")


@pytest.mark.realdata
def test_layouts_copy_the_real_files(real_data, demo_raw):
    """Header rows of the demo = header rows of the real files (questionnaire, logins, ВПР, specs)."""
    import openpyxl

    def header(p):
        ws = openpyxl.load_workbook(p, read_only=True).active
        return list(next(ws.iter_rows(values_only=True)))

    real_ctx = header(real_data / "Сбор контекстных данных об ОО и участниках ВПР 2021.xlsx")
    assert header(demo_raw / "context_2022.xlsx") == real_ctx
    assert header(demo_raw / "logins.xlsx") == header(real_data / "logins.xlsx")
    for g, s in CELLS + [(7, "Физика"), (11, "Химия")]:
        real = header(real_data / "vpr_results" / "2021" / str(g) / vpr_file_name(g, s, 2021))
        demo = header(demo_raw / "vpr" / "2021" / str(g) / vpr_file_name(g, s, 2021))
        cut = lambda h: h[: h.index("Др.уч. название") + 1]  # noqa: E731 — trailing empty columns vary
        assert cut(demo) == cut(real), (g, s)
        spec = header(real_data / "task_specs" / str(g) / s / "ALL.xlsx")
        spec = spec[: spec.index(None)] if None in spec else spec
        assert header(demo_raw / "task_specs" / str(g) / s / "ALL.xlsx") == spec, (g, s)
