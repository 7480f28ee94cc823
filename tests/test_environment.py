"""pyproject.toml is the single source of the dependencies; environment.yml mirrors it."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# conda-forge names where they differ from PyPI (an extra becomes its own package)
CONDA_SPLIT = {"dask[distributed]": ["dask", "distributed"]}


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", spec)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def pyproject_deps() -> dict[str, str]:
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    specs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    out = {}
    for s in specs:
        name, ver = _split(s)
        for n in CONDA_SPLIT.get(name, [name]):
            out[n] = ver
    return out


def conda_deps() -> dict[str, str]:
    out = {}
    in_deps = False
    for line in (REPO / "environment.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - (\S.*)$", line)
        if in_deps and m:
            item = m.group(1).strip()
            if item in ("pip", "pip:") or item.startswith("-e"):
                continue
            name, ver = _split(item)
            if name == "python":        # the interpreter, not a package (requires-python in pyproject)
                continue
            out[name] = ver
    return out


def test_same_dependencies_and_versions():
    py, conda = pyproject_deps(), conda_deps()
    assert py == conda, {"only in pyproject": sorted(set(py) - set(conda)),
                         "only in environment.yml": sorted(set(conda) - set(py)),
                         "different versions": sorted(k for k in set(py) & set(conda) if py[k] != conda[k])}


def test_parser_sees_the_known_ones():
    py = pyproject_deps()
    assert {"pandas", "pyarrow", "python-calamine", "openpyxl", "tqdm", "dask", "distributed", "pytest"} <= set(py)
