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

# %%

# %% tags=["parameters"]
# Аналитику: чтобы построить отчёт другого детского сада или года, задайте параметры и выполните блокнот заново.
dou_id = None  # логин детского сада; None — первый по логину
municipality = None  # муниципалитет детского сада: отчёт читает только его данные; None — по реестру
year = None  # учебный год; None — последний в данных
processed_dir = "data/processed"  # папка обработанных данных

# %%
from msoko import report as R
from msoko.report import school as S

data = R.load(processed_dir, municipality=municipality, school_id=dou_id)
year = R.resolve_year(data, year)
dou_id = dou_id or S.first_dou(data)
R.show_title(data, kind="school", year=year, school_id=dou_id)

# %%
S.show_dou_summary(data, dou_id, year)
