"""msoko.export.export_html on small hand-made notebooks (no kernel needed)."""
from __future__ import annotations

import base64
import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from msoko.export import export_html

PNG_1PX = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360f8cf"
    "c0f01f0005000201a5f6f1c70000000049454e44ae426082")).decode()


def _nb() -> nbformat.NotebookNode:
    code = new_code_cell("secret_code = 1\nprint('x')", outputs=[
        new_output("stream", name="stdout", text="plain <script>alert(1)</script> text\n"),
        new_output("stream", name="stderr", text="UserWarning: noisy library warning\n"),
        new_output("display_data", data={"text/html": "<h3>Подраздел &lt;b&gt;</h3><p>таблица</p>",
                                         "text/plain": "<HTML>"}),
        new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "<Figure>"}),
    ])
    nb = new_notebook(cells=[
        new_markdown_cell("# Заголовок\n\nВступление."),
        new_markdown_cell("## Первая глава"),
        code,
        new_markdown_cell("## Вторая глава\n\nТекст со ссылкой на [раздел](#sec-2)."),
    ])
    nb.metadata["papermill"] = {"parameters": {"school_id": "sch<01>", "year": 2023}}
    return nb


def test_document_shell_title_and_params():
    html = export_html(_nb(), title="Отчёт <школы> & «Ко»")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Отчёт &lt;школы&gt; &amp; «Ко»</title>" in html
    assert 'lang="ru"' in html and 'charset="utf-8"' in html
    # the parameters in Russian, no code
    assert "Логин школы: sch&lt;01&gt; · учебный год: 2023" in html
    assert "school_id" not in html and "Параметры отчёта" not in html


def test_code_hidden_stderr_dropped_text_escaped():
    html = export_html(_nb(), title="t")
    assert "secret_code" not in html  # inputs excluded
    assert "In&nbsp;[" not in html and "Out[" not in html
    assert "noisy library warning" not in html
    assert "plain &lt;script&gt;alert(1)&lt;/script&gt; text" in html
    assert "<script" not in html.lower()


def test_toc_links_every_h2_and_h3_including_outputs():
    html = export_html(_nb(), title="t")
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S).group(0)
    entries = re.findall(r'<li class="toc-h(\d)"><a href="#([^"]+)">(.*?)</a></li>', toc)
    assert [(lvl, text) for lvl, _, text in entries] == [
        ("2", "Первая глава"), ("3", "Подраздел &lt;b&gt;"), ("2", "Вторая глава")]
    for _, hid, _ in entries:
        assert len(re.findall(rf'<h[23] id="{hid}"', html)) == 1
    assert "¶" not in html  # no anchor-link pilcrows


def test_self_contained_and_printable():
    html = export_html(_nb(), title="t")
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
    assert refs and all(r.startswith(("#", "data:")) for r in refs), refs
    assert f'src="data:image/png;base64,{PNG_1PX}"' in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "@media print" in html and "@page" in html
    assert "http://" not in html and "https://" not in html
    assert "MathJax" not in html and "require" not in html


def test_error_output_stays_visible():
    nb = _nb()
    nb.cells[2].outputs.append(new_output("error", ename="MsokoError", evalue="Нет данных",
                                          traceback=["MsokoError: Нет данных"]))
    html = export_html(nb, title="t")
    assert "MsokoError" in html and "Нет данных" in html


def test_accessibility_edits_without_a_full_html_parse():
    """The exporter skips nbconvert's BeautifulSoup pass and adds the missing alt texts itself."""
    nb = _nb()
    html = export_html(nb, title="t")
    imgs = re.findall(r"<img\b[^>]*>", html)
    assert imgs and all(re.search(r'\balt="[^"]+"', i) for i in imgs)
    # Cyrillic headings as text, not numeric references; TOC labels are the same text
    assert "&#10" not in html
    assert re.search(r'<h2 id="sec-[\w-]+"[^>]*>Первая глава</h2>', html)
    assert '>Первая глава</a></li>' in html
    # the same notebook exported twice (one exporter per process) gives the same page
    assert export_html(nb, title="t") == html


def test_params_line_leaves_out_local_paths():
    nb = _nb()
    nb.metadata["papermill"]["parameters"]["processed_dir"] = "/home/analyst/msoko/data/processed"
    html = export_html(nb, title="t")
    assert "Логин школы: sch&lt;01&gt; · учебный год: 2023</p>" in html
    assert "/home/analyst" not in html


def test_stream_split_by_a_flush_gives_the_same_page():
    """Where the kernel flushes inside one print is timing: «МУНИЦИПАЛИТЕТ Село 20» may arrive as one
    stdout output or two; the page must be the same bytes either way (CI saw both)."""
    def nb(outputs):
        cell = new_code_cell("print('МУНИЦИПАЛИТЕТ', 'Село', 20)", outputs=outputs)
        cell.id = "c1"
        return new_notebook(cells=[cell])
    one = export_html(nb([new_output("stream", name="stdout", text="МУНИЦИПАЛИТЕТ Село 20\n")]), title="т")
    two = export_html(nb([new_output("stream", name="stdout", text="МУНИЦИПАЛИТЕТ"),
                          new_output("stream", name="stdout", text=" Село 20\n")]), title="т")
    assert one == two
    assert one.count("<pre>") == 1 and "МУНИЦИПАЛИТЕТ Село 20" in one


def test_the_sections_tables_json_does_not_reach_the_page_and_stays_in_the_notebook():
    """The export leaves the sections' tables (JSON for the workbook) out of its copy — the page is the same
    as without them — and does not touch the notebook the workbook is read from afterwards."""
    from msoko.report.section import TABLES_MIME

    nb = _nb()
    bare = nbformat.from_dict(nb)   # the same cells (and cell ids), without the tables
    tables = [{"title": "Таблица <1>", "columns": ["a"], "rows": [[f"<td>{i}</td>"] for i in range(50)]}]
    nb.cells[2].outputs[2]["data"][TABLES_MIME] = tables
    page = export_html(nb, title="Отчёт")
    assert page == export_html(bare, title="Отчёт")
    assert "Таблица &lt;1&gt;" not in page and "Таблица <1>" not in page
    assert nb.cells[2].outputs[2]["data"][TABLES_MIME] == tables
    assert any(o.get("name") == "stderr" for o in nb.cells[2].outputs)   # the notebook itself keeps its stderr


def test_markdown_rendered_once_per_process_gives_the_same_page(monkeypatch):
    """The markdown filter keeps each text's HTML: a second report reuses it and its page is the one
    nbconvert's own filter gives; a cell with attachments is rendered every time."""
    from nbconvert.exporters.html import HTMLExporter

    from msoko import export as E

    import copy

    base = _nb()
    monkeypatch.setattr(E._ReportExporter, "_markdown", {})
    first = export_html(copy.deepcopy(base), title="t")
    assert any(k[0] == "## Вторая глава\n\nТекст со ссылкой на [раздел](#sec-2)." for k in E._ReportExporter._markdown)
    calls = []
    real = HTMLExporter.markdown2html

    def counted(self, context, source):
        calls.append(source)
        return real(self, context, source)

    monkeypatch.setattr(HTMLExporter, "markdown2html", counted)
    assert export_html(copy.deepcopy(base), title="t") == first and calls == []
    monkeypatch.setattr(E._ReportExporter, "_markdown", {})
    assert export_html(copy.deepcopy(base), title="t") == first and len(calls) == 3
    nb = copy.deepcopy(base)
    nb.cells[0].attachments = {"a.png": {"image/png": PNG_1PX}}
    calls.clear()
    export_html(nb, title="t")
    export_html(nb, title="t")
    assert calls.count("# Заголовок\n\nВступление.") == 2
