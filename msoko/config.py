"""Municipal configuration: targets, regional criteria, thresholds, recommendation rules.

``load_config()`` reads the built-in ``resources/municipal_config.toml`` and deep-merges
a user TOML over it (tables merge key by key; any other value, including arrays such as
``[[recommendations]]``, replaces the default). The result is a plain ``dict`` that is
loaded once and passed to the computations; nothing reads the file from inside a
computation.

Values that change by year are tables keyed by ``default`` and by year (``"2025"``);
:func:`by_year` picks the entry of the latest year not after the one asked for.
"""
from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from msoko.errors import MsokoError

DEFAULT_CONFIG = "municipal_config.toml"


def _read_default() -> dict:
    text = resources.files("msoko.resources").joinpath(DEFAULT_CONFIG).read_text(encoding="utf-8")
    return tomllib.loads(text)


def deep_merge(base: dict, override: dict) -> dict:
    """Return ``base`` with ``override`` merged over it (dicts recursively, the rest replaced)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path | None = None) -> dict:
    """Load the municipal configuration (defaults + the user file at ``path``, if given)."""
    config = _read_default()
    if path is None:
        return config
    path = Path(path)
    if not path.exists():
        raise MsokoError(f"Не найден файл конфигурации: {path}")
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MsokoError(f"Ошибка в файле конфигурации {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise MsokoError(f"Файл конфигурации {path} должен быть в кодировке UTF-8") from exc
    return deep_merge(config, user)


def _is_year_table(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(
        k == "default" or str(k).isdigit() for k in value)


def by_year(value: Any, year: int | None) -> Any:
    """Pick the value for ``year`` from a by-year table (``default``/``"2025"`` keys).

    Anything that is not a by-year table is returned as is. ``None`` when no entry
    applies (no ``default`` and every year key is later than ``year``).
    """
    if not _is_year_table(value):
        return value
    years = sorted(int(k) for k in value if k != "default")
    chosen = value.get("default")
    if year is not None:
        for y in years:
            if y <= int(year):
                chosen = value[str(y)] if str(y) in value else value[y]
    return chosen


def section(config: dict, name: str, year: int | None = None) -> Any:
    """``config[name]`` resolved for ``year`` (see :func:`by_year`); ``{}`` when absent."""
    return by_year(config.get(name, {}), year)


def target(config: dict, indicator: str, year: int) -> float | None:
    """Target value of ``indicator`` for ``year`` or ``None``."""
    value = by_year(config.get("targets", {}).get(indicator), year)
    return None if value is None else float(value)


# The configuration a compute run used, written beside its tables: the reports read this file and
# nothing else, so ``msoko run --config my.toml`` changes the computations and the reports together.
USED_CONFIG = "config_used.json"


def write_used_config(config: dict, processed_dir: str | Path) -> Path:
    """Write the merged configuration ``config`` into ``processed_dir`` as JSON, keys in the order of
    the configuration files (the order is meaningful: sufficiency levels Б, П, В), so that the same
    configuration always gives the same bytes."""
    import json
    import os

    path = Path(processed_dir) / USED_CONFIG
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(config, ensure_ascii=False, indent=1, default=str) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return path


def load_used_config(processed_dir: str | Path) -> dict:
    """The configuration compute used for ``processed_dir``; the built-in one for a folder computed
    before this file was written."""
    import json

    path = Path(processed_dir) / USED_CONFIG
    if not path.exists():
        return load_config()
    return json.loads(path.read_text(encoding="utf-8"))


def evidence_min_n(config: dict) -> int:
    """The smallest group a first-screen item or a recommendation may rest on:
    ``[recommendation_settings] min_n`` (20 by default) — one definition for compute and the reports."""
    return int(((config or {}).get("recommendation_settings") or {}).get("min_n", 20))
