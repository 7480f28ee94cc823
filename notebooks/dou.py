# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (msoko)
#     language: python
#     name: python3
# ---

# %%

# %% tags=["parameters"]
# Аналитику: чтобы построить отчёт другого детского сада или года, задайте параметры и выполните блокнот заново.
dou_id = None  # логин детского сада; None — первый по логину
year = None  # учебный год; None — последний в данных
processed_dir = "data/processed"  # папка обработанных данных

# %%
from msoko import report as R
from msoko.report import school as S

data = R.load(processed_dir)
year = R.resolve_year(data, year)
dou_id = dou_id or S.first_dou(data)
R.show_title(data, kind="school", year=year, school_id=dou_id)

# %%
S.show_dou_summary(data, dou_id, year)
