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
# # Диагностика объективности результатов
#
# Для методистов: официальные признаки необъективности и показатель объективности по методике ФИОКО, дополнительные признаки, проверка их калибровки на этих данных, карточки школ со свидетельствами и список школ для плана работы. Признак — повод присмотреться к проведению и проверке работ, а не доказательство нарушений.

# %% tags=["parameters"]
year = None  # учебный год; None — последний в данных
processed_dir = "data/processed"  # папка обработанных данных

# %%
from msoko import report as R
from msoko.report.objectivity import show_objectivity_calibration, show_objectivity_data_quality
from msoko.report.recheck import (show_medals, show_observed, show_olympiad, show_plan_document, show_recheck,
                                  show_visits, show_year_review)

data = R.load(processed_dir)
year = R.resolve_year(data, year)
R.show_title(data, kind="objectivity", year=year)

# %% [markdown]
# ## Официальные признаки и показатель объективности (ФИОКО)

# %%
R.show_objectivity_official(data, year)

# %% [markdown]
# ## Дополнительные признаки

# %%
R.show_objectivity_msoko(data, year)

# %% [markdown]
# ## Насколько признакам можно доверять на этих данных

# %%
show_objectivity_calibration(data, year)

# %% [markdown]
# ## Карточки школ

# %%
R.show_objectivity_cards(data, year)

# %% [markdown]
# ## Список школ для плана работы

# %%
R.show_plan_of_work(data, year)

# %% [markdown]
# ## Итоги перепроверки работ

# %%
show_recheck(data, year)

# %% [markdown]
# ## Работы под независимым наблюдением

# %%
show_observed(data, year)

# %% [markdown]
# ## Мониторинговые визиты

# %%
show_visits(data, year)

# %% [markdown]
# ## План работы на следующий год (документ)

# %%
show_plan_document(data, year)

# %% [markdown]
# ## Итоги года: школы прошлогоднего плана

# %%
show_year_review(data, year)

# %% [markdown]
# ## Школьный этап ВсОШ

# %%
show_olympiad(data, year)

# %% [markdown]
# ## Претенденты на медаль «За успехи в учении»

# %%
show_medals(data, year)

# %% [markdown]
# ## Качество данных

# %%
show_objectivity_data_quality(data, year)
