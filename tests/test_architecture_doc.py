"""docs/architecture.md «Finding a concept» stays true: every `file::name` it cites exists (a function,
class or constant of a Python file; a row code of a CSV; a section of a TOML file), and each concept takes
at most four hops (definition, computation, test, display)."""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
REF = re.compile(r"`((?:msoko|tests|docs)/[\w/.-]+\.(?:py|csv|toml|md))(?:::([\w.]+))?`")


def section(text: str) -> str:
    start = text.index("## Finding a concept")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def defined_in(path: Path, name: str) -> bool:
    """Whether ``name`` is defined in ``path``: a function, class or assigned name of a Python module (at
    any level), the first column of a CSV row, a dotted table of a TOML file."""
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                return True
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        return False
    if path.suffix == ".csv":
        return any(line.split(",", 1)[0] == name for line in path.read_text(encoding="utf-8").splitlines())
    if path.suffix == ".toml":
        node = tomllib.loads(path.read_text(encoding="utf-8"))
        for part in name.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True
    return False


def test_defined_in_reads_each_kind(tmp_path):
    py = tmp_path / "m.py"
    py.write_text("X = 1\nY: int = 2\ndef f():\n    def g():\n        pass\nclass C:\n    pass\n")
    assert all(defined_in(py, n) for n in ("X", "Y", "f", "g", "C")) and not defined_in(py, "h")
    csv = tmp_path / "c.csv"
    csv.write_text("code,name\nvpr_quality,Качество\n")
    assert defined_in(csv, "vpr_quality") and not defined_in(csv, "Качество")
    toml = tmp_path / "t.toml"
    toml.write_text("[shnor.default]\nlow_share = 30\n")
    assert defined_in(toml, "shnor.default") and defined_in(toml, "shnor.default.low_share")
    assert not defined_in(toml, "shnor.other")


def test_every_cited_file_and_name_exists():
    refs = REF.findall(section(DOC.read_text(encoding="utf-8")))
    assert len(refs) >= 20
    missing = [f"{p}::{n}" if n else p for p, n in refs
               if not (REPO / p).exists() or (n and not defined_in(REPO / p, n))]
    assert not missing, f"docs/architecture.md cites what does not exist: {missing}"


def test_each_concept_in_four_hops():
    concepts = re.split(r"\n\*\*", section(DOC.read_text(encoding="utf-8")))[1:]
    titles = [c.split("**")[0] for c in concepts]
    for want in ("vpr_quality", "bunching", "ШНОР", "combined"):
        assert any(want in t for t in titles), want
    for c in concepts:
        steps = re.findall(r"^(\d)\. (\w+):", c, flags=re.M)
        assert [s for _, s in steps] == ["Definition", "Computation", "Test", "Display"], c.split("**")[0]
