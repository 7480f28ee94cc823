"""One vocabulary: every system code and every sign code the library, the notebooks or the
configuration use is defined once — systems in msoko.vocabulary, signs in the objectivity catalogue
(``msoko.objectivity.sign_catalogue``) — and the Russian numbers come from msoko.ru only."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from msoko.config import load_config
from msoko.objectivity import sign_catalogue
from msoko.vocabulary import OFFICIAL_SIGNS, SYSTEM_NAMES, SYSTEM_SHORT, SYSTEMS

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "msoko").rglob("*.py")) + sorted((REPO / "notebooks").glob("*.py"))
SIGN_CODES = set(sign_catalogue()["sign"])
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+|[a-z]+")


def _trees():
    for path in SOURCES:
        yield path, ast.parse(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- systems

def test_eight_systems_with_distinct_titles_and_short_titles():
    assert sorted(SYSTEMS) == list(range(1, 9))
    assert len(set(SYSTEM_NAMES.values())) == 8 and len(set(SYSTEM_SHORT.values())) == 8
    assert all(len(SYSTEM_SHORT[c]) < len(SYSTEM_NAMES[c]) for c in SYSTEMS)


def test_systems_of_the_catalogue_and_the_configuration_are_in_the_vocabulary():
    from msoko.indicators import load_catalogue

    assert set(load_catalogue()["system"]) <= set(SYSTEMS)
    assert {int(k) for k in load_config()["systems"]} <= set(SYSTEMS)


@pytest.mark.parametrize("notebook", sorted((REPO / "notebooks").glob("*.py")), ids=lambda p: p.name)
def test_notebook_system_headings_are_the_vocabulary_titles(notebook):
    text = notebook.read_text(encoding="utf-8")
    headings = re.findall(r"^# ## (\d+)\. (.+)$", text, flags=re.M)
    for code, title in headings:
        assert int(code) in SYSTEMS and title.strip() == SYSTEMS[int(code)].title, (notebook.name, code, title)
    for call in re.findall(r"show_\w*system\([^)]*?,\s*(\d+)\)", text):
        assert int(call) in SYSTEMS


def test_no_second_table_of_system_names():
    """A dict literal keyed by the system codes 1…8 with text values is the vocabulary's alone."""
    found = []
    for path, tree in _trees():
        if path.name == "vocabulary.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict) and len(node.keys) >= 6:
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if set(keys) <= set(range(1, 9)) | {str(i) for i in range(1, 9)} and len(keys) == len(node.keys) \
                        and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.values):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not found, f"system names defined again: {found}"


# ---------------------------------------------------------------- signs

def test_official_signs_are_the_catalogue_official_ones():
    cat = sign_catalogue().set_index("sign")
    assert set(cat.index[cat["official"]]) - {"objectivity_index"} == set(OFFICIAL_SIGNS)


def _sign_uses(tree: ast.AST) -> list[tuple[str, int]]:
    """String codes used as signs: compared with or tested against a ``["sign"]`` column, and every
    code of a literal collection most of whose codes are signs."""
    out = []

    def is_sign_column(node) -> bool:
        return isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "sign"

    def consts(node) -> list[str]:
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        return [node.value] if isinstance(node, ast.Constant) and isinstance(node.value, str) else []

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and is_sign_column(node.left):
            for c in node.comparators:
                out += [(v, node.lineno) for v in consts(c)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "isin" \
                and is_sign_column(node.func.value) and node.args:
            out += [(v, node.lineno) for v in consts(node.args[0])]
        elif isinstance(node, (ast.Dict, ast.Set, ast.List, ast.Tuple)):
            elts = node.keys if isinstance(node, ast.Dict) else node.elts
            codes = [e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
                     and SNAKE.fullmatch(e.value)]
            if len(codes) >= 2 and sum(c in SIGN_CODES for c in codes) * 2 > len(codes):
                out += [(c, node.lineno) for c in codes]
    return out


def test_every_sign_code_in_the_library_and_notebooks_is_catalogued():
    unknown = [f"{path.relative_to(REPO)}:{line} «{code}»" for path, tree in _trees()
               for code, line in _sign_uses(tree) if code not in SIGN_CODES]
    assert not unknown, "sign codes missing from the catalogue:\n" + "\n".join(unknown)


def test_the_sign_reader_finds_a_dead_code():
    tree = ast.parse('A = {"bunching", "combined", "journal_up"}\nd[d["sign"] == "swing"]\n'
                     'x[x["sign"].isin(["cohort_fall", "easy_hard"])]\n')
    assert {c for c, _ in _sign_uses(tree)} - SIGN_CODES == {"journal_up", "swing", "easy_hard"}


def test_every_sign_code_in_the_configuration_is_catalogued():
    obj = load_config()["objectivity"]
    families = obj.get("combined_families", {})
    assert families, "the configuration names the families of the combined judgement"
    used = {s for signs in families.values() for s in signs}
    assert used <= SIGN_CODES, sorted(used - SIGN_CODES)


# ---------------------------------------------------------------- Russian numbers

def test_russian_numbers_are_formatted_in_msoko_ru_only():
    """A decimal comma made by hand (``.replace(".", ",")``) belongs in msoko/ru.py only."""
    found = [f"{path.relative_to(REPO)}:{i}" for path in SOURCES if path.name != "ru.py"
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"""\.replace\(\s*["']\.["']\s*,\s*["'],["']\s*\)""", line)]
    assert not found, f"Russian number formatting outside msoko.ru: {found}"


@pytest.mark.parametrize("value, digits, expected", [
    (1108, 1, "1108"), (12_345, 1, "12\u202f345"), (-3.25, 1, "\u22123,2"), (0.5, 0, "0"), (2.5, 0, "2"),
    (-1e-17, 1, "0,0"), (float("nan"), 1, "—"), (float("inf"), 1, "—"), (None, 1, "—"), (1234.5678, 2, "1234,57"),
])
def test_number(value, digits, expected):
    from msoko import ru

    assert ru.number(value, digits) == expected


def test_interval_percent_and_p_value():
    from msoko import ru

    assert ru.interval(5.123, 7.46, 1, "%") == "5,1–7,5 %"
    assert ru.interval(float("nan"), 2) == "—"
    assert ru.percent(61.04, 1) == "61,0 %"
    assert ru.p_value(0.01234) == "0,012"
    assert ru.p_value(3.2e-5) == "3,2e\u221205"
    assert ru.chance(0.0004) == "случайно такое бывает реже чем в 1 случае из 1000"
    assert ru.chance(0.3) == "такое нередко бывает и случайно"
    assert ru.signed(0.04, 1) == "0,0" and ru.signed(1.26, 1) == "+1,3" and ru.signed(-0.4, 1) == "\u22120,4"


def test_report_charts_and_compute_share_the_rule():
    from msoko import cycle, ru
    from msoko.plots.theme import fmt_num
    from msoko.report.fmt import fmt

    for v in (1108.0, -2.5, 12_345.0):
        assert fmt(v, 1) == fmt_num(v, 1) == ru.number(v, 1) == cycle.fmt(v)
    assert pd.isna(float("nan")) and fmt(float("nan")) == fmt_num(float("nan")) == cycle.fmt(float("nan")) == "—"
