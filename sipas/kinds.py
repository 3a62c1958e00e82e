"""Survey kinds: the one place where a kind of survey declares what differs from the others.

A survey-year's ``survey.yml`` names its kind (``kind: household`` by default).  The stages and the
report never test the kind's name; they ask the :class:`SurveyKind` object found here:

* which frames it reads and their required columns (:attr:`SurveyKind.frames`);
* which structures and unit hierarchies it allows and its default design -- strata, PSU, report unit --
  and what the stage-1 finite population correction counts (:attr:`SurveyKind.design`);
* how its sample is drawn (:attr:`SurveyKind.sampler`, a ``"module:function"`` reference);
* which instrument family its forms follow (:attr:`SurveyKind.instrument_family`);
* which report sections it renders, in order (:attr:`SurveyKind.report_sections`);
* how the stage notebooks word its design (:meth:`SurveyKind.notebook_text`: the texts
  ``notebooks_by_kind.<name>`` of ``resources/report_text.yml``);
* how ``sipas plan`` plans its next sample from a finished year (:attr:`SurveyKind.planning`, a
  :class:`PlanningSpec`: the planning function, the frames and processed files it reads, the designs or
  allocations it compares, the sections of plan.html and the annex it writes).

Adding a kind means writing one :class:`SurveyKind` below and listing it in :data:`KINDS`; the
functions its ``sampler`` names, its instrument files and its report and notebook texts (with its labels,
``labels.kinds.<name>`` of ``resources/report_text.yml``: what the kind and its frames are called) are the
only other new parts.

Kinds (seeds in shared/seeds/):

* ``household`` -- the household survey of one province (seeds 000, 004): communes and villages chosen
  by the plan's rules or by a probability design, households systematically within villages.
* ``service_user`` -- the service-user (exit) survey of one-stop units (seeds 001, 002): strata are the
  service units (province centre, district centres, commune desks), the respondent is the sampling unit,
  forms are either handed out at the desk after the result is returned ("exit" mode, seed 002) or sent to
  an official list drawn from the units' transaction records, with a reserve list (seed 001).
* ``national`` -- the Ministry's national survey (seed 003): every province at once, provinces as strata
  (34 since 1/7/2025, 63 before), communes as PSUs, villages and households within them as in the household
  design; the report unit is the province (ranks with their uncertainty, the 2025 merger, other indices).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sipas.errors import ConfigError
from sipas.text.labels import LabelText

__all__ = ["DesignSpec", "FrameSpec", "PlanningSpec", "SurveyKind", "KINDS", "DEFAULT_KIND", "get_kind"]


@dataclass(frozen=True)
class FrameSpec:
    """A frame file a kind reads (``frames.<name>`` in survey.yml).

    Attributes
    ----------
    name : str
        Key under ``frames:``.
    columns : Mapping[str, tuple[str, ...]]
        Required columns per structure (``three_tier``, ``two_tier``).
    required : bool
        Whether every survey of the kind must configure it.
    label : Mapping[str, str]
        What the frame lists, ``{"vi": ..., "en": ...}``: the kinds below name ``labels.kinds.<kind>.frames.<name>``
        of ``resources/report_text.yml`` (:class:`~sipas.text.labels.LabelText`).
    """

    name: str
    columns: Mapping[str, tuple[str, ...]]
    required: bool = True
    label: Mapping[str, str] = field(default_factory=dict)
    #: Function reading and checking the frame (``"module:function"``, called ``f(path, kind=name,
    #: structure=...)``; imported when called).
    reader: str = "sipas.sampling.frames:read_frame"

    def read(self, path: str | Path, *, structure: str):
        """The frame at ``path``, read and checked by :attr:`reader`."""
        import importlib

        module, _, function = self.reader.partition(":")
        return getattr(importlib.import_module(module), function)(path, kind=self.name, structure=structure)


@dataclass(frozen=True)
class DesignSpec:
    """The sample design a kind's weighting stage builds.

    Attributes
    ----------
    structures : tuple[str, ...]
        Administrative structures the kind allows (``three_tier``: province, district, commune;
        ``two_tier``: province, commune, since 1/7/2025).
    defaults : Mapping[str, Mapping[str, str]]
        Per structure, the default ``strata``, ``psu`` and ``report_unit`` columns.
    unit_levels : Mapping[str, tuple[str, ...]]
        Per structure, the columns identifying a PSU, top down.
    psu_choices : tuple[str, ...]
        Columns allowed as the primary sampling unit.
    fpc : str
        What the stage-1 finite population correction counts (``psu_population``).
    unit_labels : Mapping[str, Mapping[str, Mapping[str, str]]]
        Per structure, the labels of the unit columns on forms (``{"commune": {"vi": ..., "en": ...}}``)
        where they differ from the instrument's (two-tier: no "thị trấn"; ``labels.kinds.unit_labels`` of
        ``resources/report_text.yml``).
    """

    structures: tuple[str, ...]
    defaults: Mapping[str, Mapping[str, str]]
    unit_levels: Mapping[str, tuple[str, ...]]
    psu_choices: tuple[str, ...]
    fpc: str
    unit_labels: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)
    #: The stage-3 function that builds the weights (``"module:function"``, imported when called): design
    #: weights from the sample's inclusion probabilities calibrated to the commune frame (household), or
    #: transactions in the period over valid forms per unit (service_user).
    weighting: str = "sipas.stages.weighting:run_weighting"
    #: Whether the sampling unit is the respondent (one stage: strata = units, PSU = the form), so the design
    #: has no sampled clusters (villages, communes) and the report says so.
    element_sampling: bool = False


def _resolve(reference: str):
    """The object a ``"module:function"`` reference names (imported when called: the modules it names sit above
    this one)."""
    import importlib

    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class PlanningSpec:
    """How ``sipas plan`` (issue 18) plans a kind's next sample from a finished survey-year.

    Attributes
    ----------
    variant : str
        What is planned, for people reading the kind: ``"clusters"`` (communes, villages and households per
        report unit; candidate designs compared by simulation) or ``"units"`` (forms per one-stop unit;
        allocations compared by simulation).  Code never compares it: it calls what the other fields name.
    planner : str
        ``"module:function"`` computing the plan, called ``f(cfg, root=..., settings=...)``; it returns an
        object with ``tables()`` (the ``plan_*.csv`` tables) and ``write_annex(out_dir)``.
    summary : str
        ``"module:function"`` giving the command line's summary lines from the written files,
        ``f(cfg, root=...)``.
    frames : tuple of str
        Frames of survey.yml the plan reads (each must be configured).
    inputs : tuple of str
        Processed files of the finished year the plan reads (``data/processed/<id>/<name>.csv``).
    files : tuple of str
        The ``plan_*`` tables it writes to ``data/processed/<id>/``.
    designs : tuple of str
        Choices of ``--design``: the designs (households) or allocations (service users) whose annex can be
        written.
    default_design : str
        The annex's design when ``--design`` is not given.
    sections : tuple of str
        ``"module:function"`` display sections of ``notebooks/06_planning.ipynb``, in order (the notebook shows
        section 0, 1, ...), each called ``f(plan, cfg=cfg, lang=lang)`` and returning display blocks.
    annex : str
        File stem of the annex under ``reports/<id>/`` (``.xlsx`` and ``.csv``).
    optional_inputs : tuple of str
        Processed files read when present (``response_rates``: the cleaning stage writes it only for a year with a
        distribution and return log; without it the plan takes the response rate from the sample list, or states
        a rate of 1, :func:`sipas.planning.plan.response_source`).
    """

    variant: str
    planner: str
    summary: str
    frames: tuple[str, ...]
    inputs: tuple[str, ...]
    files: tuple[str, ...]
    designs: tuple[str, ...]
    default_design: str
    sections: tuple[str, ...]
    annex: str
    optional_inputs: tuple[str, ...] = ()

    def plan(self, cfg: object, *, root: object, settings: object) -> object:
        """The plan of a finished year (:attr:`planner`)."""
        return _resolve(self.planner)(cfg, root=root, settings=settings)

    def summary_lines(self, cfg: object, *, root: object) -> list[str]:
        """The command line's summary of the written plan (:attr:`summary`)."""
        return list(_resolve(self.summary)(cfg, root=root))

    def section(self, index: int):
        """The display function of section ``index`` (0-based), or None past the last one."""
        return _resolve(self.sections[index]) if 0 <= index < len(self.sections) else None


#: Households (and the national kind, which reuses the household design): communes, villages and households per
#: report unit for a half-width or ranking target; the plan's rule, PPS and stratified SRS compared by simulation.
HOUSEHOLD_PLANNING = PlanningSpec(
    variant="clusters",
    planner="sipas.planning.plan:compute_household_plan",
    summary="sipas.planning.plan:summary_lines",
    frames=("communes", "villages"),
    inputs=("forms_clean", "weights", "weight_summary", "poststrata_totals"),
    files=("plan_components", "plan_sizes", "plan_simulation", "plan_simulation_reps", "plan_service_user",
           "plan_summary"),
    designs=("seed_rule", "pps", "stratified_srs"),
    default_design="pps",
    sections=tuple(f"sipas.planning.report:{f}" for f in (
        "intro", "components_section", "design_effects_section", "sizes_section", "simulation_section",
        "annex_section")),
    annex="plan_phu_luc_04",
    optional_inputs=("response_rates",),
)

#: National surveys (seed 003): the household plan with provinces as strata and report units (``cfg.design``).
#: Seed 003 (Kế hoạch 1444/KH-BNV) gives the Ministry and the provinces' Sở Nội vụ the sampling (June-July) but no
#: rule for choosing communes, so there is no seed rule: PPS (the demo's own design, ``sampling.communes``) and
#: stratified SRS are compared, each at this year's communes per province in the simulation (the default 20
#: replicates take about 100 s on the demo's 34 provinces, linear in the frame).
NATIONAL_PLANNING = dataclasses.replace(HOUSEHOLD_PLANNING, designs=("pps", "stratified_srs"))

#: Service users: forms per one-stop unit for a half-width (or ranking) target per unit, from the units'
#: transactions, within-unit SDs and weighting effects; the allocations compared by simulation.
SERVICE_USER_PLANNING = PlanningSpec(
    variant="units",
    planner="sipas.planning.service_plan:compute_service_plan",
    summary="sipas.planning.service_plan:summary_lines",
    frames=("units",),
    inputs=("forms_clean", "weights", "weight_summary", "weight_cells", "poststrata_totals"),
    files=("plan_components", "plan_units", "plan_sizes", "plan_allocations", "plan_simulation",
           "plan_simulation_reps", "plan_summary"),
    designs=("target", "fixed", "proportional", "neyman"),
    default_design="target",
    sections=tuple(f"sipas.planning.service_report:{f}" for f in (
        "intro", "components_section", "units_section", "sizes_section", "simulation_section", "annex_section")),
    annex="plan_phu_luc_phan_bo_phieu",
)


@dataclass(frozen=True)
class SurveyKind:
    """What one kind of survey declares.  See the module docstring.

    Its ``label`` (what the kind is called, ``{"vi": ..., "en": ...}``) and its frames' labels are texts of
    ``resources/report_text.yml``, ``labels.kinds.<name>`` (:func:`_label`).
    """

    name: str
    label: Mapping[str, str]
    seeds: tuple[str, ...]
    frames: tuple[FrameSpec, ...]
    design: DesignSpec
    sampler: str
    instrument_family: str
    report_sections: tuple[str, ...]
    #: ``"module:function"`` putting last year's indices on this year's units before the change is computed
    #: (the national kind maps the 63 old provinces onto the 34 new ones); None: taken as they are.
    previous_mapper: str | None = None
    #: Whether the national SIPAS index (a household survey since 2022) is a fair default benchmark.
    national_benchmark: bool = True
    #: ``domain_type`` of the whole-area row of the indices tables (the province of a household or service-user
    #: survey; ``"country"`` in a national survey, whose report units are the provinces).  Every reader asks
    #: the kind (:attr:`total_domain`), never compares with a literal.
    total_domain: str = "province"
    #: ``"module:function"`` writing the kind's own ranking tables from the indices stage (the national kind:
    #: ``province_ranking`` with rank intervals, P(top k), P(improved)); None: none.
    ranking_hook: str | None = None
    #: How ``sipas plan`` plans the kind's next sample (:class:`PlanningSpec`); None: the kind has no plan.
    planning: PlanningSpec | None = None

    def map_previous(self, previous: object, *, cfg: object, root: object = None) -> tuple[object, list]:
        """Last year's indices table on this year's units, and the files read to put it there."""
        if self.previous_mapper is None:
            return previous, []
        import importlib

        module, _, function = self.previous_mapper.partition(":")
        return getattr(importlib.import_module(module), function)(previous, cfg=cfg, root=root)

    def ranking_tables(self, indices: object, previous: object, *, cfg: object, unit: str,
                       min_n: int = 0) -> dict:
        """The kind's own ranking tables (:attr:`ranking_hook`), ``{name: DataFrame}``; empty without a hook."""
        if self.ranking_hook is None:
            return {}
        import importlib

        module, _, function = self.ranking_hook.partition(":")
        return getattr(importlib.import_module(module), function)(indices, previous, cfg=cfg, unit=unit,
                                                                   min_n=min_n)


    def frame(self, name: str) -> FrameSpec:
        """The frame called ``name``; ``KeyError`` when the kind reads no such frame."""
        for f in self.frames:
            if f.name == name:
                return f
        raise KeyError(name)

    def frame_columns(self, name: str, structure: str) -> tuple[str, ...]:
        """Required columns of frame ``name`` in ``structure``."""
        return self.frame(name).columns[structure]

    def required_frames(self) -> tuple[str, ...]:
        """Names of the frames every survey of this kind configures."""
        return tuple(f.name for f in self.frames if f.required)

    def accepts_instrument(self, instrument_id: str) -> bool:
        """Whether forms following instrument ``instrument_id`` belong to this kind."""
        return instrument_id == self.instrument_family

    def default_design(self, structure: str) -> dict[str, str]:
        """The default ``{strata, psu, report_unit}`` of ``structure``."""
        return dict(self.design.defaults[structure])

    def draw_sample(self, config: object, **kwargs: object) -> object:
        """Draw the sample with the kind's :attr:`sampler` (imported when called: the sampling folder
        sits above this module)."""
        import importlib

        module, _, function = self.sampler.partition(":")
        return getattr(importlib.import_module(module), function)(config, **kwargs)

    def unit_labels(self, structure: str) -> dict[str, dict[str, str]]:
        """Labels of the unit columns of the forms in ``structure`` that replace the instrument's."""
        return {k: dict(v) for k, v in self.design.unit_labels.get(structure, {}).items()}

    def weighting_function(self):
        """The function of :attr:`DesignSpec.weighting` (imported when called: stages sit above this module)."""
        import importlib

        module, _, function = self.design.weighting.partition(":")
        return getattr(importlib.import_module(module), function)

    def has_section(self, section: str) -> bool:
        """Whether the kind's report renders ``section``."""
        return section in self.report_sections

    def notebook_text(self, key: str, *, lang: str = "vi", **fields: object) -> str:
        """The stage notebooks' text ``key`` (``"<notebook>.<text>"``) as this kind words it: the entry
        ``notebooks_by_kind.<name>.<key>`` of ``resources/report_text.yml`` in ``lang`` (e.g. the weighting
        notebook's description of the design: communes, villages and households; one-stop units and their
        transactions; provinces).  A notebook shows ``cfg.kind.notebook_text(...)``, so it never words one
        kind's design for another.  See :func:`sipas.text.labels.kind_notebook_text`."""
        from sipas.text.labels import kind_notebook_text

        return kind_notebook_text(self.name, key, lang=lang, **fields)


def _label(key: str) -> LabelText:
    """Text ``labels.kinds.<key>`` of ``resources/report_text.yml`` (``{vi, en}``), read when first used."""
    return LabelText(f"kinds.{key}")


#: The commune column of a two-tier survey's forms: since 1/7/2025 communes, wards and special zones, no towns.
_TWO_TIER_UNIT_LABELS = {"two_tier": {"commune": _label("unit_labels.two_tier_commune")}}

HOUSEHOLD = SurveyKind(
    name="household",
    label=_label("household.label"),
    seeds=("000", "004"),
    frames=(
        FrameSpec("communes", {"three_tier": ("district", "commune", "commune_class", "is_admin_centre"),
                               "two_tier": ("commune", "commune_class", "is_admin_centre")},
                  label=_label("household.frames.communes")),
        FrameSpec("villages", {"three_tier": ("district", "commune", "village", "has_commune_hq"),
                               "two_tier": ("commune", "village", "has_commune_hq")},
                  label=_label("household.frames.villages")),
        FrameSpec("households", {"three_tier": ("district", "commune", "village", "hamlet", "household_id"),
                                 "two_tier": ("commune", "village", "hamlet", "household_id")},
                  label=_label("household.frames.households")),
    ),
    design=DesignSpec(
        structures=("three_tier", "two_tier"),
        defaults={"three_tier": {"strata": "district", "psu": "commune", "report_unit": "district"},
                  "two_tier": {"strata": "commune_type", "psu": "commune", "report_unit": "commune"}},
        unit_levels={"three_tier": ("district", "commune"), "two_tier": ("commune",)},
        psu_choices=("commune",),
        fpc="communes per stratum in the commune frame",
        # since 1/7/2025 a province has communes, wards and special zones, no districts nor towns (thị trấn)
        unit_labels=_TWO_TIER_UNIT_LABELS,
    ),
    sampler="sipas.sampling.draw:draw_sample",
    instrument_family="household",
    report_sections=("summary", "design", "cleaning", "reliability", "weighting", "results", "ranking", "yoy",
                     "needs", "recommendations", "methodology", "provenance"),
    planning=HOUSEHOLD_PLANNING,
)

SERVICE_USER = SurveyKind(
    name="service_user",
    label=_label("service_user.label"),
    seeds=("001", "002"),
    frames=(
        FrameSpec("units", {"units": ("unit_id", "unit", "level", "parent_unit")},
                  label=_label("service_user.frames.units"),
                  reader="sipas.sampling.transactions:read_service_frame"),
        FrameSpec("transactions", {"units": ("transaction_id", "unit", "procedure_field", "returned_on",
                                             "applicant_type", "applicant_id")},
                  label=_label("service_user.frames.transactions"),
                  reader="sipas.sampling.transactions:read_service_frame"),
    ),
    design=DesignSpec(
        structures=("units",),
        defaults={"units": {"strata": "unit", "psu": "respondent_key", "report_unit": "unit"}},
        unit_levels={"units": ("unit",)},
        psu_choices=("respondent_key",),
        fpc="transactions returned in the survey window per unit",
        weighting="sipas.stages.unit_weighting:run_unit_weighting",
        element_sampling=True,
    ),
    sampler="sipas.sampling.service_draw:draw_service_sample",
    instrument_family="service_user",
    report_sections=("summary", "design", "cleaning", "reliability", "weighting", "results", "ranking",
                     "reward", "yoy", "methodology", "provenance"),
    national_benchmark=False,   # the national index is a household survey with another instrument
    planning=SERVICE_USER_PLANNING,
)

NATIONAL = SurveyKind(
    name="national",
    label=_label("national.label"),
    seeds=("003",),
    frames=(
        FrameSpec("communes", {"three_tier": ("province", "district", "commune", "commune_type", "households"),
                               "two_tier": ("province", "commune", "commune_type", "households")},
                  label=_label("national.frames.communes")),
        FrameSpec("villages", {"three_tier": ("province", "district", "commune", "village", "households"),
                               "two_tier": ("province", "commune", "village", "households")},
                  label=_label("national.frames.villages")),
        # the Ministry holds no household lists: provinces draw households from their own lists
        FrameSpec("households", {"three_tier": ("province", "district", "commune", "village", "hamlet",
                                                "household_id"),
                                 "two_tier": ("province", "commune", "village", "hamlet", "household_id")},
                  required=False, label=_label("national.frames.households")),
    ),
    design=DesignSpec(
        structures=("two_tier", "three_tier"),
        defaults={"two_tier": {"strata": "province", "psu": "commune", "report_unit": "province"},
                  "three_tier": {"strata": "province", "psu": "commune", "report_unit": "province"}},
        unit_levels={"three_tier": ("province", "district", "commune"), "two_tier": ("province", "commune")},
        psu_choices=("commune",),
        fpc="communes per province in the commune frame",
        unit_labels=_TWO_TIER_UNIT_LABELS,
    ),
    sampler="sipas.sampling.draw:draw_sample",
    instrument_family="household",
    # the provinces' ranking, map, change through the merger and other indices take section 7 (the household
    # report's ranking): the sections before it keep their numbers
    report_sections=("summary", "design", "cleaning", "reliability", "weighting", "results", "national",
                     "methodology", "provenance"),
    previous_mapper="sipas.indices.merger:previous_onto_current",
    total_domain="country",   # the report units are provinces: the whole area must not share their domain_type
    ranking_hook="sipas.indices.rank_uncertainty:unit_ranking_tables",
    planning=NATIONAL_PLANNING,   # the household design's plan on provinces, without a seed rule
)

#: Every kind sipas can run, by name (the default kind first: its structures' unit levels win in
#: :data:`sipas.config.UNIT_LEVELS`).
KINDS: dict[str, SurveyKind] = {k.name: k for k in (HOUSEHOLD, SERVICE_USER, NATIONAL)}
#: Planned kinds (open issues), named so that a config asking for one gets a clear answer.
PLANNED: dict[str, str] = {}
#: The kind of a survey.yml without ``kind:``.
DEFAULT_KIND = "household"


def get_kind(name: str, *, file: str | Path | None = None) -> SurveyKind:
    """The :class:`SurveyKind` called ``name``.

    Raises
    ------
    ConfigError
        Naming ``file`` and the key ``kind`` when no such kind exists (or it is planned but not built).
    """
    if isinstance(name, str) and name in KINDS:
        return KINDS[name]
    if isinstance(name, str) and name in PLANNED:
        raise ConfigError(f"survey kind {name!r} ({PLANNED[name]}) is not available yet; available: "
                          f"{', '.join(KINDS)}", file=file, key="kind")
    raise ConfigError(f"unknown survey kind {name!r}; available: {', '.join(KINDS)}", file=file, key="kind")
