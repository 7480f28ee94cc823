"""Execute the three report notebooks with papermill and check the exported HTML.

Two inputs: the small synthetic processed folder of test_report_synthetic (always),
and the session demo municipality (``demo_processed``) once the demo, ingest and
compute stages exist. In both, the first school is renamed to a name containing
``<script>alert(1)</script>`` that must come out as text.
"""
from __future__ import annotations

import base64
import html as html_mod
import re
import shutil
import time
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest

from msoko.export import export_html
from msoko.report import SYSTEMS

from test_report_synthetic import EVIL_NAME, build_synthetic

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

pytestmark = pytest.mark.slow


def _with_evil_school(src: Path, dst: Path) -> tuple[Path, str]:
    """Copy a processed folder and rename its first school (by login) to EVIL_NAME."""
    shutil.copytree(src, dst)
    schools = pd.read_parquet(dst / "schools.parquet")
    pre = schools.get("is_preschool", pd.Series(False, index=schools.index)).fillna(False).astype(bool)
    sid = sorted(schools.loc[~pre, "school_id"].astype(str))[0]
    schools.loc[schools["school_id"].astype(str) == sid, "name"] = EVIL_NAME
    schools.to_parquet(dst / "schools.parquet", index=False)
    return dst, sid


def prepare_processed(request, tmp: Path) -> tuple[Path, str]:
    """Processed tables for ``request.param`` ('synthetic' or 'demo') with one school renamed to EVIL_NAME."""
    if request.param == "synthetic":
        src = build_synthetic(tmp / "src")
    else:
        src = request.getfixturevalue("demo_processed")
    return _with_evil_school(src, tmp / "processed")


@pytest.fixture(scope="module", params=["synthetic", "demo"])
def processed(request, tmp_path_factory) -> tuple[Path, str, str]:
    path, sid = prepare_processed(request, tmp_path_factory.mktemp(f"nb_{request.param}"))
    return path, sid, request.param


def _run(name: str, out_dir: Path, **params) -> tuple[nbformat.NotebookNode, str, float]:
    out = out_dir / f"{name}.ipynb"
    t0 = time.perf_counter()
    pm.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=params, kernel_name="python3",
                        progress_bar=False, cwd=str(REPO))
    elapsed = time.perf_counter() - t0
    nb = nbformat.read(out, as_version=4)
    html = export_html(nb, title=f"Отчёт {name}")
    (out_dir / f"{name}.html").write_text(html, encoding="utf-8")
    return nb, html, elapsed


@pytest.fixture(scope="module")
def reports(processed, tmp_path_factory):
    path, sid, kind = processed
    out = tmp_path_factory.mktemp(f"reports_{kind}")
    res = {
        "school": _run("school", out, school_id=sid, year=None, processed_dir=str(path)),
        "municipality": _run("municipality", out, year=None, municipality=None, processed_dir=str(path)),
        "objectivity": _run("objectivity", out, year=None, processed_dir=str(path)),
    }
    return dict(res=res, out=out, processed=path, school_id=sid, kind=kind)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_no_error_or_warning_output(reports):
    for name, (nb, html, _) in reports["res"].items():
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                assert o["output_type"] != "error", (name, o.get("ename"), o.get("evalue"))
                assert not (o["output_type"] == "stream" and o.get("name") == "stderr"), (name, o.get("text"))
        assert "Traceback" not in html and "Error" not in _text(html), name


@pytest.mark.parametrize("name", ["school", "municipality"])
def test_every_system_chapter_present(reports, name):
    html = reports["res"][name][1]
    heads = [_text(h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)]
    for k, title in SYSTEMS.items():
        assert f"{k}. {title}" in heads, (name, k)
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S).group(0)
    assert all(title in _text(toc) for title in SYSTEMS.values())


def test_municipal_chapters_follow_the_cycle(reports):
    html = reports["res"]["municipality"][1]
    steps = ["Цели и показатели", "Мониторинг показателей", "Анализ результатов мониторинга",
             "Адресные рекомендации", "Меры и управленческие решения", "Анализ эффективности принятых мер"]
    parts = re.split(r"<h2[^>]*>", html)
    chapters = [p for p in parts if re.match(r"\s*[1-8]\. Система", _text(p.split("</h2>")[0]))]
    assert len(chapters) == 8  # between «Сводка», «Выводы и задачи» and the appendices
    for ch in chapters:
        pos = [ch.find(f">{s}</h3>") for s in steps]
        assert all(p > 0 for p in pos) and pos == sorted(pos)


def test_objectivity_report_sections(reports):
    text = _text(reports["res"]["objectivity"][1])
    for part in ("Официальные признаки и показатель объективности (ФИОКО)", "Дополнительные признаки",
                 "которых нет в официальной методике ФИОКО", "гимназии и лицеи",
                 "Насколько признакам можно доверять на этих данных", "Карточки школ",
                 "Список школ для плана работы"):
        assert part in text


def test_self_contained_no_external_host(reports):
    for name, (_, html, _) in reports["res"].items():
        refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", html, re.I)
        assert refs, name
        bad = [r for r in refs if not (r.startswith("#") or r.startswith("data:"))]
        assert not bad, (name, bad[:5])
        assert "<script" not in html.lower() and "@import" not in html and "url(" not in html
        assert "mathjax" not in html.lower() and "require.js" not in html.lower()


def test_charts_are_inline_svg_and_images_decode(reports):
    import xml.etree.ElementTree as ET

    for name, (_, html, _) in reports["res"].items():
        uris = re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', html)
        assert len(uris) == len(re.findall(r"<img\b", html)), name
        for u in uris:
            raw = base64.b64decode(u, validate=True)
            assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 1000
        for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
            ET.fromstring(svg)  # every chart is well-formed SVG
    school = reports["res"]["school"][1]
    assert len(re.findall(r'<svg\b[^>]*role="img"', school)) >= 3
    assert len(school.encode()) < 3 * 1024 * 1024


def test_no_participant_code_in_reports(reports):
    vpr = pd.read_parquet(reports["processed"] / "vpr.parquet", columns=["student_code"])
    codes = set(vpr["student_code"].dropna().astype(str))
    gia = reports["processed"] / "gia.parquet"
    if gia.exists():
        codes |= set(pd.read_parquet(gia, columns=["student_code"])["student_code"].dropna().astype(str))
    codes = {c for c in codes if len(c) >= 4}
    for name, (nb, html, _) in reports["res"].items():
        tokens = set(re.findall(r"[0-9A-Za-zА-Яа-я_\-]+", _text(html)))
        assert not (tokens & codes), (name, sorted(tokens & codes)[:5])


def test_script_in_school_name_is_shown_as_text(reports):
    for name in ("school", "municipality"):
        html = reports["res"][name][1]
        assert "<script>alert(1)</script>" not in html
        assert EVIL_ESCAPED in html, name
    assert EVIL_ESCAPED in reports["res"]["school"][1].split("</header>")[1]  # in the body, not only the title


def test_school_tables_not_ranked(reports):
    html = reports["res"]["municipality"][1]
    for table in re.findall(r"<table.*?</table>", html, re.S):
        head = re.search(r"<thead>(.*?)</thead>", table, re.S)
        if not head or ">Школа</th>" not in head.group(1):
            continue
        rows = re.findall(r"<tr>\s*<td>(.*?)</td>", table, re.S)
        names = [html_mod.unescape(re.sub(r"\s+", " ", r).strip()) for r in rows]
        assert names == sorted(names), names


def test_execution_is_fast(reports):
    for name, (_, _, elapsed) in reports["res"].items():
        assert elapsed < 60, (name, elapsed)  # generous: 2 shared cores; typical 4–12 s incl. kernel start


# --- the demo's planted truth shows up in the school report ------------------------------------

@pytest.fixture(scope="module")
def demo_truth(request, tmp_path_factory):
    for mod in ("msoko.demo", "msoko.ingest", "msoko.compute"):
        pytest.importorskip(mod, reason=f"{mod} ещё нет")
    raw = request.getfixturevalue("demo_raw")
    processed = request.getfixturevalue("demo_processed")
    return raw / "_truth", processed, tmp_path_factory.mktemp("truth_reports")


def _section(html: str, title: str) -> str:
    start = html.index(f">{title}</h2>")
    nxt = html.find("<h2", start)
    return html[start: nxt if nxt > 0 else len(html)]


def test_planted_manipulation_shows_sign_with_evidence(demo_truth):
    from msoko.report import OFFICIAL_SIGNS, sign_name

    truth_dir, processed, out = demo_truth
    cells = pd.read_csv(truth_dir / "objectivity_cells.csv")
    cells = cells[cells["strength"].isin(["moderate", "strong"])]
    obj = pd.read_parquet(processed / "objectivity.parquet")
    obj = obj[obj["flagged"].fillna(False).astype(bool) & obj["sign"].isin(list(OFFICIAL_SIGNS) + ["combined"])]
    hits = cells.merge(obj, on=["year", "school_id", "grade", "subject"])
    assert len(hits), "ни одна заложенная манипуляция не отмечена — проверьте msoko.objectivity"
    hit = hits.sort_values(["year", "school_id", "grade", "subject"], ascending=[False, True, True, True]).iloc[0]
    _, html, _ = _run("school", out, school_id=hit["school_id"], year=int(hit["year"]), processed_dir=str(processed))
    sec = _section(html, "Признаки необъективности и их свидетельства")
    assert html_mod.escape(sign_name(hit["sign"]), quote=True) in sec
    head = f"Свидетельства: {hit['subject']}, {int(hit['grade'])} класс"
    assert head in sec
    after = sec[sec.index(head):]
    assert re.search(r'<svg\b[^>]*role="img"', after)


def test_planted_weak_spot_gets_its_recommendation(demo_truth):
    truth_dir, processed, out = demo_truth
    spots = pd.read_csv(truth_dir / "weak_spots.csv")
    spots = spots[spots["school_id"].astype(str).str.startswith("sch")]
    rec = pd.read_parquet(processed / "recommendations.parquet")
    hits = spots.merge(rec, left_on=["year", "school_id", "indicator_hint"], right_on=["year", "school_id", "indicator"])
    assert len(hits), "ни одна заложенная слабая зона не получила рекомендацию — проверьте msoko.cycle"
    hit = hits.sort_values(["year", "school_id"], ascending=[False, True]).iloc[0]
    _, html, _ = _run("school", out, school_id=hit["school_id"], year=int(hit["year"]), processed_dir=str(processed))
    sec = _section(html, "Адресные рекомендации")
    assert html_mod.escape(hit["text_ru"], quote=True) in sec


def test_html_numbers_match_indicators(reports):
    """The school report shows compute's numbers: every «Школа» value of the system tables, read back
    from the HTML, is the school's value in indicators.parquet (overall rows, the report's year)."""
    html = reports["res"]["school"][1]
    processed, sid = reports["processed"], reports["school_id"]
    ind = pd.read_parquet(processed / "indicators.parquet")
    cat = pd.read_csv(processed / "indicator_catalogue.csv", encoding="utf-8-sig")
    code_of = dict(zip(cat["name_ru"], cat["code"]))
    year = int(ind["year"].max())
    mine = ind[(ind["year"] == year) & (ind["level"] == "school") & (ind["school_id"].astype(str) == sid)
               & ind["grade"].isna() & ind["subject"].isna() & ind["item"].isna()].set_index("indicator")
    checked = 0
    for table in re.findall(r"<table.*?</table>", html, re.S):
        head = re.search(r"<thead>(.*?)</thead>", table, re.S)
        if not head:
            continue
        cols = [html_mod.unescape(_text(c).strip()) for c in re.findall(r"<th[^>]*>(.*?)</th>", head.group(1), re.S)]
        if cols[:2] != ["Показатель", "Школа"]:
            continue
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            cells = [html_mod.unescape(_text(c).strip()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            if len(cells) < 2 or cells[0] not in code_of or code_of[cells[0]] not in mine.index:
                continue
            r = mine.loc[code_of[cells[0]]]
            m = re.match(r"[−-]?\d[\d\u202f\u00a0 ]*(,\d+)?", cells[1])
            if r["suppressed"] or pd.isna(r["value"]) or not m:
                continue
            shown = float(m.group(0).replace("−", "-").replace(",", ".").replace("\u202f", "").replace("\u00a0", "")
                          .replace(" ", ""))
            decimals = len(m.group(1)) - 1 if m.group(1) else 0
            assert shown == pytest.approx(round(float(r["value"]), decimals), abs=10 ** -decimals / 2 + 1e-9), \
                (cells[0], cells[1], r["value"])
            checked += 1
    assert checked >= (20 if reports["kind"] == "demo" else 2), checked
