"""Layout detection from the header row; year/grade/subject from the path."""
from __future__ import annotations

import pytest

from msoko.layouts import LayoutError, detect, vpr_identity

H2020 = ["groups", "user", "id", "code", "otc", "gender", "klass", "var-1", "var-2", "sum"] + \
    [f"a-{i}-grade" for i in range(1, 16)] + ["Учебник"] + [f"a-{i}-grade" for i in range(17, 21)]
H2021 = ["логин школы", "регион", "номер обучающегося", "код обучающегося",
         "отметка за предыдущую четверть/триместр", "пол", "класс", "вариант", "всего баллов"] + \
    [f"балл за {i}" for i in range(1, 6)] + ["Учебник", "Др.уч. автор", "Др.уч. название", "", ""]


def test_vpr2020_textbook_column_takes_the_place_of_task_16():
    lay = detect(H2020, "x.xlsx")
    assert lay.kind == "vpr2020"
    tasks = dict(lay.tasks)
    assert list(tasks) == [str(i) for i in range(1, 21)]
    assert tasks["16"] == H2020.index("Учебник") and tasks["17"] == H2020.index("a-17-grade")
    assert lay.columns["school_id"] == 1 and lay.columns["total"] == 9 and lay.columns["variant"] == 7


def test_vpr2020_trailing_textbook_is_not_a_task():
    lay = detect(H2020[:25] + ["Учебник"], "x.xlsx")
    assert [t for t, _ in lay.tasks] == [str(i) for i in range(1, 16)]


def test_vpr2021():
    lay = detect(H2021, "x.xlsx")
    assert lay.kind == "vpr2021"
    assert [t for t, _ in lay.tasks] == ["1", "2", "3", "4", "5"]
    assert lay.columns["journal_mark"] == 4 and lay.columns["total"] == 8
    assert lay.ignored == []


def test_other_inputs():
    assert detect(["логин", "имя", "регион"], "l.xlsx").kind == "logins"
    assert detect(["логин", "Название ОО", "Где расположена Ваша образовательная организация?"], "c.xlsx").kind == "context"
    spec = detect(["№ КИМ", "№", "Умения, виды деятельности", "Уровень сложности", "Код КЭС", "Код КТ",
                   "Максимальный балл за выполнение задания"], "ALL.xlsx")
    assert spec.kind == "task_specs" and spec.columns["task"] == 1 and spec.columns["skill"] == 2
    assert detect(["Код", "Проверяемые элементы содержания"], "KS.xlsx").kind == "codifier"


def test_templates_by_header_not_by_name():
    lay = detect(["Год", "Логин ОО", "Класс", "Обучающихся", "Профминимум базовый (≥40 ч)",
                  "Профминимум основной (≥60 ч)", "Профминимум продвинутый (≥80 ч)", "В профильных классах"],
                 "contingent.xlsx")
    assert lay.kind == "template" and lay.table == "career"
    lay = detect(["  год ", "ЛОГИН ОО", "Класс", "Обучающихся"], "x.csv")
    assert lay.table == "contingent" and lay.columns == {"year": 0, "school_id": 1, "grade": 2, "students": 3}


def test_unknown_and_missing_columns_name_them():
    with pytest.raises(LayoutError, match=r"анкета\.xlsx.*неизвестный формат.*«Логин», «Автор учебника»"):
        detect(["Логин", "Автор учебника"], "анкета.xlsx")
    with pytest.raises(LayoutError, match=r"ВПР 2021.*нет столбцов: «всего баллов»"):
        detect([h for h in H2021 if h != "всего баллов"], "v.xlsx")
    with pytest.raises(LayoutError, match=r"Контингент.*нет столбцов: «Обучающихся»"):
        detect(["Год", "Логин ОО", "Класс"], "c.xlsx")


@pytest.mark.parametrize("path,expect", [
    ("raw/vpr/2021/4/Проведение работы по математике, 4 класс. ВПР 2021.xlsx", (2021, 4, "Математика")),
    ("raw/2020/4/Математика.xlsx", (2020, 4, "Математика")),
    ("raw/2020/7/Русский язык.xlsx", (2020, 7, "Русский язык")),
    ("x/Проведение работы по биологии, 7 класс (по образцу 7 класса). ВПР 2021.xlsx", (2021, 7, "Биология")),
    ("x/2021/11/Проведение работы по английскому языку, 11 класс. ВПР 2021.xlsx", (2021, 11, "Английский язык")),
    ("x/2021/6/Проведение работы по окружающему миру, 4 класс. ВПР 2021.xlsx", (2021, 4, "Окружающий мир")),
])
def test_vpr_identity(path, expect):
    assert vpr_identity(path) == expect


def test_vpr_identity_fails_in_russian():
    with pytest.raises(LayoutError, match="не удалось определить: год"):
        vpr_identity("x/4/Математика.xlsx")
