# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (msoko)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Анализ в JupyterLab: обработанные данные msoko
#
# Блокнот для аналитика УО. Он ничего не записывает в папку обработанных данных: только читает то,
# что посчитал `msoko compute`. Каждый объект показывается таблицей (значения, интервалы, число
# участников), у каждого есть `.to_frame()` (таблица pandas для сортировки и выгрузки),
# `.summary()` (кратко словами) и `.plot()` (те же графики, что в отчётах).
# Поменяйте параметры в следующей ячейке и выполните блокнот заново.

# %% tags=["parameters"]
processed_dir = "data/processed"  # папка обработанных данных (msoko compute)
year = None  # учебный год; None — последний в данных
school_a = None  # логин первой школы; None — первая школа, писавшая ВПР
school_b = None  # логин второй школы для сравнения; None — следующая по логину
grade, subject = 6, "Математика"  # работа ВПР для сравнения заданий
excel_out = None  # путь к файлу Excel для выгрузки таблиц; None — не выгружать

# %%
import msoko

m = msoko.open(processed_dir)
year = year or m.years[-1]
with_vpr = sorted(m.data.vpr_year(year)["school_id"].unique())
school_a = school_a or with_vpr[0]
school_b = school_b or next(s for s in with_vpr if s != school_a)
m

# %% [markdown]
# ## Как две школы выполнили задания одной работы
#
# Первая школа — столбцы, вторая школа и муниципалитет — штрихи своего цвета; пунктир — пороги достаточности по уровню задания.

# %%
work = m.work(year, grade, subject)
tasks = work.compare_tasks([school_a, school_b])
work.plot([school_a, school_b]);

# %%
tasks.pivot_table(index=["task", "level"], columns="group", values="value", sort=False).round(1)

# %% [markdown]
# ## Распределение первичных баллов школы и границы отметок
#
# Пики сразу над пунктиром (границей отметки) — повод посмотреть работы внимательнее, не вывод.

# %%
school_work = m.school(school_a, year).work(grade, subject)
school_work.plot_scores();

# %% [markdown]
# Какие школы этой работы показывают скопление баллов у границ (доказательство msoko `bunching`):

# %%
work.bunching()

# %% [markdown]
# ## Отметки ВПР и отметки за четверть

# %%
school_work.plot_journal();

# %% [markdown]
# ## Что стоит за отмеченным признаком
#
# Все признаки, посчитанные для одной работы школы, — отмеченные и нет, с p-значениями и пояснениями.

# %%
signs = m.signs(year, school=school_a, flagged=False)
evidence = signs.explain(grade, subject)
evidence[["title", "official", "value", "p_value", "n", "flagged", "detail"]]

# %% [markdown]
# ## Школа против похожих школ и муниципалитета; динамика за три года

# %%
school = m.school(school_a, year)
school.compare("vpr_quality", vs=["similar", "municipality", school_b])

# %%
school.plot("vpr_quality", vs=["similar", "municipality", school_b]);

# %%
school.plot_trend("vpr_quality");

# %% [markdown]
# ## Один показатель по всем школам
#
# Школы — по алфавиту: результаты ВПР сравнивают, но не ранжируют.

# %%
quality = m.indicator("vpr_quality", year)
quality

# %% [markdown]
# ## Признаки необъективности и план работы

# %%
m.signs(year)

# %%
m.plan(year)

# %% [markdown]
# ## Выгрузка в Excel (числа остаются числами)

# %%
if excel_out:
    from msoko.api import to_excel

    to_excel({"Задания": tasks, "Качество по школам": quality.to_frame(), "Признаки": signs.to_frame()}, excel_out)
