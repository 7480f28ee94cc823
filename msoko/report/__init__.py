"""Tables, charts and plain Russian sentences for the report notebooks, by section.

The notebooks stay thin: each cell calls one ``show_*`` function, which returns a
:class:`~msoko.report.section.Section` (shown as the cell's one output; an analyst takes
``.tables[…]`` and ``.figures[…]`` from it). Everything is read from compute's outputs
(``indicators``, ``objectivity``, the management-cycle tables, declared in
``msoko/resources/output_schema.toml``) and the loaded ВПР tables.

Modules: :mod:`.data` (loading, parameters, comparison groups), :mod:`.fmt` (numbers, plurals,
HTML pieces), :mod:`.indicators`, :mod:`.vpr`, :mod:`.signs` (queries), :mod:`.section`,
:mod:`.common`, :mod:`.evidence`, and one module per report — :mod:`.school`,
:mod:`.municipality`, :mod:`.objectivity`; :mod:`.textbooks` (УМК, both reports).

Rules every function follows: groups under ``[informativeness] suppress_below`` participants (of the
configuration compute used, ``config_used.json``) are suppressed, under ``limited_below`` marked as
of limited informativeness; participant codes never leave this package; ВПР results are compared,
never ranked (school tables are sorted by name); all text from the data is escaped.
"""
from msoko.vocabulary import OFFICIAL_SIGNS, SYSTEM_NAMES as SYSTEMS  # noqa: F401 (used by notebooks and tests)
from msoko.report.fmt import (  # noqa: F401
    MIN_N, LIMITED_N, RELIABLE_N, INDEX_SIGN, SRC_VPR, esc, fmt, fmt_pct, informativeness,
    reliability_phrase, subject_phrase, html_table, html_sentences, html_heading, html_para,
)
from msoko.report.data import (  # noqa: F401
    ReportData, load, sufficiency_thresholds, target_value, suppress_below, limited_below, years, resolve_year, resolve_school,
    resolve_municipality, school_row, school_name, similar_schools, comparison_groups,
)
from msoko.report.indicators import (  # noqa: F401
    school_context, school_vpr_counts, indicator_groups, catalogue_for, system_indicator_table,
    headline_indicators, indicator_trend, indicator_meta, CORE_SUBJECTS, KEY_BREAKDOWN_INDICATORS,
    MAX_DETAILED_WORKS, system_goal, goals_table, municipal_indicator_table, school_comparison_table,
    municipal_findings, analysis_table, recommendations_table, measures_table, effectiveness_table,
)
from msoko.report.vpr import (  # noqa: F401
    mark_boundaries, marks_distribution, score_distribution, task_completion, level_completion,
    journal_comparison, vpr_summary_table, gia_table, mkdo_areas,
)
from msoko.report.signs import (  # noqa: F401
    sign_name, is_official, objectivity_index, flagged_signs, signs_table, mean_intervals, cell_evidence,
    bunching_data, cohort_k_data, cohort_fences, plan_of_work, plan_rows, plan_tier, attention_zones,
)
from msoko.report.section import (  # noqa: F401
    Section,
)
from msoko.report.common import (  # noqa: F401
    show_title, latest_effectiveness,
)
from msoko.report.evidence import (  # noqa: F401
    SIGNS_INTERVAL, SIGNS_BUNCHING, SIGNS_COHORT, SIGNS_JOURNAL, SIGNS_TASKS, MAX_EVIDENCE_CELLS, MAX_CARDS,
    EXPECTED_LABEL,
)
from msoko.report.school import (  # noqa: F401
    show_school_context, show_attention, show_school_system, vpr_overview_table, vpr_overview_marks,
    vpr_overview_journal, level_table, show_vpr_views, show_gia, show_school_objectivity,
    show_school_recommendations, show_school_effectiveness, show_school_summary, show_dou_summary, first_dou,
)
from msoko.report.municipality import (  # noqa: F401
    municipal_headline, municipal_trend, municipal_vpr_marks, show_municipal_system, show_municipal_summary,
    show_municipal_conclusions, show_municipal_appendix, show_municipal_appendices, show_municipal_data_quality,
    spec_quality_table,
)
from msoko.report.textbooks import (  # noqa: F401
    municipal_textbook_table, show_municipal_textbooks, school_textbook_table, show_school_textbooks,
)
from msoko.report.objectivity import (  # noqa: F401
    show_objectivity_official, show_objectivity_msoko, show_objectivity_cards, show_plan_of_work,
    show_objectivity_calibration,
)
