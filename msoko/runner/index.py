"""reports/index.html — the entry page. Russian, self-contained (inline CSS, no
external hosts), every name escaped."""
from __future__ import annotations

import re
from html import escape
from typing import Any
from urllib.parse import quote

from msoko.runner.plan import KIND_TITLES

CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:2em auto;
max-width:1100px;padding:0 1em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.95em}th,td{text-align:left;padding:.35em .6em;
border-bottom:1px solid #eee;vertical-align:top}th{background:#f5f5f7}
.meta{color:#555;font-size:.93em}.fail{background:#fff0f0}.fail td{color:#8b0000}
.ok{color:#1a7f37}.badge{display:inline-block;padding:0 .5em;border-radius:.6em;font-size:.85em}
.bad{background:#b00020;color:#fff}code{font-size:.9em}
@media print{a{color:inherit;text-decoration:none}}
"""


def _href(rel: str) -> str:
    return escape(quote(rel, safe="/"), quote=True)


def _error_page(r: dict[str, Any]) -> str:
    return f'<a href="{_href(r["error_html"])}">страница с ошибкой</a> · ' if r.get("error_html") else ""


def _when(ts: str | None) -> str:
    return escape((ts or "")[:16].replace("T", " "))


GROUPED = ("municipality", "school", "dou")   # the kinds of report that belong to one municipality
HEADS = {"school": "Отчёты школ", "municipality": "Муниципалитет",
         "objectivity": KIND_TITLES["objectivity"], "dou": "Отчёты детских садов"}
GROUP_HEADS = {"school": "Школы", "municipality": "Отчёт муниципалитета", "dou": "Детские сады"}


def report_group(r: dict[str, Any]) -> str:
    """The municipality a report belongs to (the run's plan says; a municipal report of an older run
    by its parameter), "" for a regional report or one of unknown municipality."""
    g = r.get("group")
    if g is None and r.get("kind") == "municipality":
        g = (r.get("params") or {}).get("municipality")
    return str(g or "")


def _natural(name: str) -> list:
    """Sort key: «округ № 2» before «округ № 10»."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.casefold()) for t in re.split(r"(\d+)", name)]


def _anchor(i: int) -> str:
    return f"m{i}"


def _tables(rows_all: list[dict[str, Any]], facts: dict[str, dict[str, str]],
            heads: dict[str, str] = HEADS) -> list[str]:
    """One table per kind of report, in the order municipal, objectivity, schools, kindergartens."""
    out: list[str] = []
    for kind in ("municipality", "objectivity", "school", "dou"):
        rows = sorted([r for r in rows_all if r["kind"] == kind], key=lambda r: r["key"])
        if not rows:
            continue
        head = heads.get(kind, HEADS[kind])
        school = kind == "school"
        h = "h3" if heads is GROUP_HEADS else "h2"   # under the municipality's own heading
        out += [f"<{h}>{escape(head)}</{h}>",
                "<table><thead><tr><th>Отчёт</th><th>Код</th>"
                + ("<th>Зон внимания на первом экране</th><th>Объективность</th>" if school else "")
                + "<th>Построен (UTC)</th><th>Версия данных</th></tr></thead><tbody>"]
        for r in rows:
            f = facts.get(str(r["label"]), {})
            extra = (f'<td>{escape(f.get("concerns", "—"))}</td>'
                     f'<td>{escape(f.get("objectivity", "не рассчитана"))}</td>') if school else ""
            out.append(f'<tr><td><a href="{_href(r["html"])}">{escape(r["title"])}</a></td>'
                       f'<td>{escape(r["label"])}</td>{extra}<td>{_when(r.get("built_at"))}'
                       f'{" (ранее)" if r["status"] == "earlier" else ""}</td>'
                       f'<td><code>{escape(r.get("data_version", ""))}</code></td></tr>')
        out.append("</tbody></table>")
    return out


def render_index(manifest: dict[str, Any], earlier: list[dict[str, Any]] | None = None,
                 facts: dict[str, dict[str, str]] | None = None,
                 municipalities: list[dict[str, str]] | None = None) -> str:
    """``earlier``: reports of the same year from earlier runs, not part of this one; ``facts``: per
    school, its attention zones on the first screen and its objectivity status
    (:func:`msoko.report.school.index_facts`); ``municipalities``: the loaded municipalities side by side
    (:func:`msoko.report.municipalities.index_rows`, rows of text), shown when given."""
    facts = facts or {}
    run = manifest["run"]
    reports = manifest["reports"]
    earlier = earlier or []
    failed = [r for r in reports if r["status"] == "failed"]
    ok = [r for r in reports if r["status"] != "failed"]
    # the scope in the title: the run's municipality, the only one loaded, or all of them
    # (a run of one municipality beside the others built earlier lists them all: «все муниципалитеты»)
    munis = sorted({report_group(r) for r in reports + earlier if r.get("kind") in GROUPED} - {""})
    scope = (munis[0] if len(munis) == 1 else "все муниципалитеты" if munis
             else run.get("municipality") or "все муниципалитеты")
    title = f"Отчёты МСОКО — {scope}, {run.get('year')} год"
    out = ["<!DOCTYPE html>", '<html lang="ru"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{escape(title)}</h1>",
           '<p class="meta">',
           f"Дата прогона: {_when(run.get('finished'))} (UTC) · ",
           f"версия данных: <code>{escape(manifest.get('data_version', '')[:12])}</code> · ",
           f"версия msoko: {escape(str(manifest['versions'].get('msoko')))} "
           f"(<code>{escape(manifest.get('library_hash', '')[:12])}</code>)<br>",
           f"Отчётов: {len(reports)}; построено заново: {run.get('built', 0)}, "
           f"без изменений: {run.get('skipped', 0)}, с ошибками: {len(failed)}.",
           "</p>"]
    if run.get("compute_failed"):
        out += ['<h2>Расчёт выполнен с ошибками</h2>',
                f'<p class="fail">{escape(str(run.get("compute") or ""))}. Отчёты построены по тому, '
                "что рассчитано; нерассчитанное в них отмечено.</p>"]
    if failed:
        out += ['<h2>Отчёты с ошибками <span class="badge bad">' f"{len(failed)}</span></h2>",
                "<p>Эти отчёты не построены. Выполненная копия блокнота с ошибкой сохранена "
                "для разбора: страница с ошибкой и сам блокнот. Если раньше отчёт строился, "
                "его прежняя версия сохранена и помечена как устаревшая: она не отражает текущие данные.</p>",
                "<table><thead><tr><th>Отчёт</th><th>Код</th><th>Ошибка</th><th>Блокнот</th>"
                "<th>Прежняя версия</th></tr></thead><tbody>"]
        for r in failed:
            old = r.get("outdated") or {}
            prev = (f'<a href="{_href(old["html"])}">устаревшая версия</a> от {_when(old.get("built_at"))} '
                    f'(данные <code>{escape(str(old.get("data_version") or ""))}</code>)') if old.get("html") else "—"
            out.append(f'<tr class="fail"><td>{escape(r["title"])}</td><td>{escape(r["label"])}</td>'
                       f'<td>{escape(str(r.get("error") or ""))}</td>'
                       f'<td>{_error_page(r)}<a href="{_href(r["executed"])}">блокнот</a></td><td>{prev}</td></tr>')
        out.append("</tbody></table>")
    if earlier:
        out.append(f'<p class="meta">Ещё {len(earlier)} отч. построены прежними прогонами и в этот '
                   "прогон не входили (помечены «ранее»).</p>")
    if municipalities:
        cols = list(municipalities[0])
        out += ["<h2>Муниципалитеты рядом</h2>",
                '<p class="meta">Каждый показатель — по школам своего муниципалитета; последняя строка — все '
                "загруженные вместе (регионом она названа, только когда загружен весь регион). Муниципалитеты "
                "перечислены по названию, а не ранжированы.</p>",
                "<table><thead><tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in cols) + "</tr></thead><tbody>"]
        for r in municipalities:
            out.append("<tr>" + "".join(f"<td>{escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>")
        out.append("</tbody></table>")
    listed = ok + earlier
    groups = sorted({report_group(r) for r in listed if r["kind"] in GROUPED} - {""}, key=_natural)
    if len(groups) > 1:
        # several municipalities: the regional reports, then each municipality — its municipal report,
        # then its schools and kindergartens — with a list of the municipalities to jump to
        out += _tables([r for r in listed if r["kind"] not in GROUPED], facts)
        out += ["<h2>Отчёты по муниципалитетам</h2>",
                f'<p class="meta">Муниципалитетов: {len(groups)}. '
                + " · ".join(f'<a href="#{_anchor(i)}">{escape(g)}</a>' for i, g in enumerate(groups, 1))
                + "</p>"]
        rest = [r for r in listed if r["kind"] in GROUPED and not report_group(r)]
        for i, g in enumerate(groups, 1):
            mine = [r for r in listed if r["kind"] in GROUPED and report_group(r) == g]
            out.append(f'<h2 id="{_anchor(i)}">{escape(g)}</h2>')
            out += _tables(mine, facts, heads=GROUP_HEADS)
        if rest:
            out.append("<h2>Муниципалитет не указан</h2>")
            out += _tables(rest, facts, heads=GROUP_HEADS)
    else:
        out += _tables(listed, facts)
    if not reports:
        out.append("<p>Отчётов нет: не найдено ни одного блокнота отчёта или ни одной школы.</p>")
    out.append('<p class="meta">Журнал прогона: run.log · сведения о версиях и входных данных: '
               '<a href="manifest.json">manifest.json</a>.</p>')
    out.append("</body></html>\n")
    return "\n".join(out)
