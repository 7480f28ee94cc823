"""Municipal configuration: defaults, user overrides, by-year values."""
import pytest

from msoko.config import by_year, deep_merge, load_config, target
from msoko.errors import MsokoError


def test_defaults_contain_regional_criteria():
    cfg = load_config()
    shnor = by_year(cfg["shnor"], 2025)
    assert shnor["low_share"] == 30.0 and shnor["min_procedures"] == 2 and shnor["consecutive_years"] == 2
    suff = by_year(cfg["sufficiency"], 2021)
    assert suff["Б"] == 50.0
    assert all({"id", "text", "addressee", "when"} <= set(r) for r in cfg["recommendations"])


def test_by_year_picks_latest_not_after():
    v = {"default": 10.0, "2023": 8.0, "2025": 5.0}
    assert by_year(v, 2021) == 10.0
    assert by_year(v, 2023) == 8.0
    assert by_year(v, 2024) == 8.0
    assert by_year(v, 2030) == 5.0
    assert by_year({"2025": 1.0}, 2024) is None
    assert by_year(3.0, 2024) == 3.0


def test_user_file_deep_merged(tmp_path):
    user = tmp_path / "my.toml"
    user.write_text('[targets]\nvpr_fail_share = { default = 12.0, "2023" = 7.0 }\n'
                    '[shnor.default]\nlow_share = 25.0\n', encoding="utf-8")
    cfg = load_config(user)
    assert target(cfg, "vpr_fail_share", 2022) == 12.0
    assert target(cfg, "vpr_fail_share", 2023) == 7.0
    assert target(cfg, "vpr_quality", 2023) == 45.0          # untouched default kept
    shnor = by_year(cfg["shnor"], 2023)
    assert shnor["low_share"] == 25.0 and shnor["min_procedures"] == 2


def test_deep_merge_replaces_lists():
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}}


def test_bad_user_file_russian_error(tmp_path):
    with pytest.raises(MsokoError, match="Не найден"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[targets\n", encoding="utf-8")
    with pytest.raises(MsokoError, match="Ошибка в файле конфигурации"):
        load_config(bad)
