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
    problems = check_user_config(user, config)
    if problems:
        raise MsokoError(f"Файл конфигурации {path} не принят:\n" + "\n".join(f"  - {p}" for p in problems)
                         + "\nИсправьте файл (образец со всеми параметрами — msoko/resources/" + DEFAULT_CONFIG + ").")
    return deep_merge(config, user)


# Tables whose keys the user may add (indicator codes, risk factors, systems, weights, years), not a
# fixed set of parameters: only the types of their values are checked, against any default entry.
OPEN_TABLES = {"targets", "risk_factors", "systems", "sufficiency", "shnor", "settlement_score", "weights",
               "size_factor", "fact_sizes", "certainty_weight", "combined_families"}
TYPE_RU = {bool: "логическое значение (true или false)", int: "целое число", float: "число",
           str: "строка в кавычках", list: "список в квадратных скобках", dict: "таблица"}


def _type_ru(value) -> str:
    for t in (bool, int, float, str, list, dict):
        if isinstance(value, t):
            return TYPE_RU[t]
    return type(value).__name__


def _fits(value, default) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list):
        return isinstance(value, list)
    if isinstance(default, dict):
        return isinstance(value, dict)
    return True


def _shown(value) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "…"


def check_user_config(user: dict, default: dict, where: str = "") -> list[str]:
    """Problems of a user configuration against the defaults, in Russian: unknown sections and keys
    (with the closest known name, difflib) and values of the wrong type (naming the key and the type
    expected). Tables in :data:`OPEN_TABLES` and by-year tables take new keys."""
    import difflib

    out = []
    open_table = where.rsplit(".", 1)[-1].strip("[]") in OPEN_TABLES or _is_year_table(default)
    for key, value in user.items():
        name = f"{where}.{key}" if where else str(key)
        if key in default:
            ref = default[key]
        elif open_table and default:
            ref = next((v for v in default.values() if isinstance(v, dict) == isinstance(value, dict)),
                       next(iter(default.values())))
            if _is_year_table(default) and not (key == "default" or str(key).isdigit()):
                ref = None
        else:
            ref = None
        if ref is None:
            known = [str(k) for k in default]
            near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            what = "раздела" if not where else "параметра"
            place = f" в разделе [{where}]" if where else ""
            hint = f" — возможно, вы имели в виду «{near[0]}»?" if near else \
                (f" (известные: {', '.join(known[:12])}{' …' if len(known) > 12 else ''})" if known else "")
            out.append(f"нет такого {what} «{key}»{place}{hint}")
            continue
        if isinstance(ref, dict) and isinstance(value, dict):
            out += check_user_config(value, ref, name)
        elif isinstance(value, dict) and not isinstance(ref, dict) and _is_year_table(value):
            for y, v in value.items():   # a value given by year: {default = 10, "2025" = 12}
                if not _fits(v, ref):
                    out.append(f"«{name}» ({y}): ожидается {TYPE_RU.get(type(ref), type(ref).__name__)}, "
                               f"указано {_shown(v)} ({_type_ru(v)})")
        elif not _fits(value, ref):
            out.append(f"«{name}»: ожидается {TYPE_RU.get(type(ref), type(ref).__name__)}, "
                       f"указано {_shown(value)} ({_type_ru(value)})")
    return out


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
