"""Planning next year's sample from a finished survey-year (issue 18; ``sipas plan``).

:mod:`~sipas.planning.variance_components` (nested ANOVA components, ICCs, households' scores),
:mod:`~sipas.planning.relvariance` (PracTools ``BW2stagePPS``/``BW3stagePPS``),
:mod:`~sipas.planning.formulas` (``nCont``, ``nPropMoe``, ``strAlloc``, ``clusOpt2``, ``clusOpt3``),
:mod:`~sipas.planning.design_effects` (Kish x clustering), :mod:`~sipas.planning.cost`,
:mod:`~sipas.planning.sample_size` (sizes per report unit for a target), :mod:`~sipas.planning.simulation`
(design comparison), :mod:`~sipas.planning.plan` (the whole plan, asked from the survey's kind),
:mod:`~sipas.planning.service_plan` (a service-user survey's plan: forms per one-stop unit), :mod:`~sipas.planning.report`
and :mod:`~sipas.planning.service_report` (plan.html).
"""

from __future__ import annotations
from sipas.planning.formulas import n_cont, n_prop_moe, StratumAllocation, stratum_allocation, ClusterOptimum, clus_opt2, clus_opt3, t_half_width, n_two_sample, n_prop_2sam  # noqa: F401
from sipas.planning.relvariance import TwoStageComponents, ThreeStageComponents, bw2stage_pps, bw2stage_srs, bw3stage_pps  # noqa: F401
from sipas.planning.variance_components import VarianceComponents, nested_components, household_scores, components_table  # noqa: F401
from sipas.planning.design_effects import DesignEffect, clustering_deff, design_effect  # noqa: F401
from sipas.planning.cost import COST_KEYS, DEFAULT_COSTS, CostModel  # noqa: F401
from sipas.planning.sample_size import StageComponents, half_width_for_ranking, se_for_ranking, optimal_stage_sizes, plan_sizes, FormsNeeded, forms_needed, unit_variance, unit_half_width  # noqa: F401
from sipas.planning.simulation import PopulationModel, synthetic_population, simulate_household, simulate_service_user, neyman_forms, summarise, bootstrap_population, estimate_unit_mean, simulate_unit_allocations  # noqa: F401
from sipas.planning.plan import PLAN_FILES, PlanSettings, PlanResult, check_settings, compute_plan, planning_spec, write_plan, allocation_annex  # noqa: F401
from sipas.planning.service_plan import ServicePlanResult, allocation_sizes, compute_service_plan  # noqa: F401
from sipas.planning.report import NOTEBOOK, PLAN_INPUTS, check_inputs, run_plan, render_plan, section  # noqa: F401
