# ---
# jupyter:
#   jupytext:
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
# # Муниципальный отчёт о состоянии системы образования
#
# Сначала — главное: ключевые выводы года, сеть и кадры, школы, которым нужна адресная поддержка (с причинами), выводы и задачи на следующий год по каждой системе. Затем — по главе на каждую из восьми систем МСОКО в порядке управленческого цикла: цели → показатели → мониторинг → анализ → адресные рекомендации → меры и управленческие решения → анализ эффективности принятых мер. Подробные таблицы по организациям — в приложениях в конце отчёта. Таблицы по школам сравнивают, а не ранжируют.

# %% tags=["parameters"]
year = None  # учебный год; None — последний в данных
municipality = None  # муниципалитет; None — первый в реестре
processed_dir = "data/processed"  # папка обработанных данных

# %%
from msoko import report as R
from msoko.report.municipality import show_municipal_appendices, show_municipal_conclusions

data = R.load(processed_dir, municipality=municipality)
year = R.resolve_year(data, year)
municipality = R.resolve_municipality(data, municipality)
R.show_title(data, kind="municipality", year=year, municipality=municipality)

# %% [markdown]
# ## Сводка

# %%
R.show_municipal_summary(data, municipality, year)

# %% [markdown]
# ## Выводы и задачи на следующий год

# %%
show_municipal_conclusions(data, municipality, year)

# %% [markdown]
# ## 1. Система оценки качества подготовки обучающихся

# %%
R.show_municipal_system(data, municipality, year, 1)

# %% [markdown]
# ### Учебники (УМК) и результаты ВПР по учебникам

# %%
R.show_municipal_textbooks(data, municipality, year)

# %% [markdown]
# ## 2. Система работы со школами с низкими результатами обучения и/или школами, функционирующими в неблагоприятных социальных условиях

# %%
R.show_municipal_system(data, municipality, year, 2)

# %% [markdown]
# ## 3. Система выявления, поддержки и развития способностей и талантов у детей и молодежи

# %%
R.show_municipal_system(data, municipality, year, 3)

# %% [markdown]
# ## 4. Система работы по самоопределению и профессиональной ориентации обучающихся

# %%
R.show_municipal_system(data, municipality, year, 4)

# %% [markdown]
# ## 5. Система мониторинга эффективности руководителей образовательных организаций

# %%
R.show_municipal_system(data, municipality, year, 5)

# %% [markdown]
# ## 6. Система обеспечения профессионального развития педагогических работников

# %%
R.show_municipal_system(data, municipality, year, 6)

# %% [markdown]
# ## 7. Система организации воспитания обучающихся

# %%
R.show_municipal_system(data, municipality, year, 7)

# %% [markdown]
# ## 8. Система мониторинга качества дошкольного образования

# %%
R.show_municipal_system(data, municipality, year, 8)

# %% [markdown]
# ## Качество данных

# %%
R.show_municipal_data_quality(data, municipality, year)

# %% [markdown]
# ## Приложения: подробные таблицы по организациям

# %%
show_municipal_appendices(data, municipality, year)
