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

# %% tags=["parameters"]
# Аналитику: чтобы построить отчёт другой школы или года, задайте параметры и выполните блокнот заново.
school_id = None  # логин школы; None — первая по логину школа, писавшая ВПР
municipality = None  # муниципалитет школы: отчёт читает только его данные; None — по реестру школ
year = None  # учебный год; None — последний в данных
processed_dir = "data/processed"  # папка обработанных данных
vpr_detail = "auto"  # "all" — подробные виды ФИС ОКО для всех работ, а не только для ключевых

# %%
from msoko import report as R

data = R.load(processed_dir, municipality=municipality, school_id=school_id)
year = R.resolve_year(data, year)
school_id = R.resolve_school(data, school_id, year)
R.show_title(data, kind="school", year=year, school_id=school_id)

# %% [markdown]
# ## Главное

# %%
R.show_school_summary(data, school_id, year)

# %% [markdown]
# ## Контекст

# %%
R.show_school_context(data, school_id, year)

# %% [markdown]
# ## Зоны внимания
#
# Что выделяется и насколько мы в этом уверены — по порядку важности: уверенность × величина отставания × повторяемость (несколько процедур или лет).

# %%
R.show_attention(data, school_id, year)

# %% [markdown]
# ## 1. Система оценки качества подготовки обучающихся

# %%
R.show_school_system(data, school_id, year, 1)

# %% [markdown]
# ### ВПР в представлении ФИС ОКО

# %%
R.show_vpr_views(data, school_id, year, detail=vpr_detail)

# %% [markdown]
# ### Учебники (УМК)

# %%
R.show_school_textbooks(data, school_id, year)

# %% [markdown]
# ### ГИА

# %%
R.show_gia(data, school_id, year)

# %% [markdown]
# ## 2. Система работы со школами с низкими результатами обучения и/или школами, функционирующими в неблагоприятных социальных условиях

# %%
R.show_school_system(data, school_id, year, 2)

# %% [markdown]
# ## 3. Система выявления, поддержки и развития способностей и талантов у детей и молодежи

# %%
R.show_school_system(data, school_id, year, 3)

# %% [markdown]
# ## 4. Система работы по самоопределению и профессиональной ориентации обучающихся

# %%
R.show_school_system(data, school_id, year, 4)

# %% [markdown]
# ## 5. Система мониторинга эффективности руководителей образовательных организаций

# %%
R.show_school_system(data, school_id, year, 5)

# %% [markdown]
# ## 6. Система обеспечения профессионального развития педагогических работников

# %%
R.show_school_system(data, school_id, year, 6)

# %% [markdown]
# ## 7. Система организации воспитания обучающихся

# %%
R.show_school_system(data, school_id, year, 7)

# %% [markdown]
# ## 8. Система мониторинга качества дошкольного образования

# %%
R.show_school_system(data, school_id, year, 8)

# %% [markdown]
# ## Признаки необъективности и их свидетельства

# %%
R.show_school_objectivity(data, school_id, year)

# %% [markdown]
# ## Адресные рекомендации

# %%
R.show_school_recommendations(data, school_id, year)

# %% [markdown]
# ## Эффективность мер прошлого года

# %%
R.show_school_effectiveness(data, school_id, year)
