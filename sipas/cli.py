"""The ``sipas`` command line: one subcommand per stage.

    sipas synth        write the embedded demo surveys under data/raw/
    sipas check        validate a survey's configuration and list its files
    sipas forms        export the questionnaire (needs only survey.yml): XLSForm (KoBo/ODK) and the Excel entry template
    sipas sample       draw the sample and write the annexes (Phụ lục 01-04); needs the frames, no forms
    sipas clean        stage 1: ingest, split personal data, clean with an audit log
    sipas reliability  stage 2: Cronbach's alpha and item statistics per criterion
    sipas weight       stage 3: design weights and nonresponse adjustment
    sipas indices      stage 4: SIPAS indices, rankings, year-over-year change
    sipas report       stages 1-4 through the notebooks, then reports/<id>/report.html
    sipas plan         next year's sample: variance components, sizes for a target, cost, design simulation,
                       then reports/<id>/plan.html (notebooks/06_planning.ipynb)

Errors from bad input are printed as one clear line (file, row, column, or the survey.yml key) with exit
code 2, as are files that cannot be written (read-only folder, full disk: the path is named).  Each stage,
``sample`` and ``forms`` write their files in one transaction (:func:`sipas.io.transaction`): on any error
none of them is left behind and the previous outputs stay as they were.

Every command runs with ``SIPAS_BLAS_THREADS`` BLAS/OpenMP threads (default 1; :mod:`sipas.threads`):
the variables the libraries read are set before numpy is first imported, and so also reach the
notebook kernels ``sipas report`` starts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sipas.errors import SipasError

DEFAULT_SURVEY = "demo-laichau-2024"


def _root(args: argparse.Namespace) -> Path:
    from sipas.config import project_root

    return Path(args.root).resolve() if args.root else project_root()


def _cfg(args: argparse.Namespace, *, needs: tuple[str, ...] | None = None):
    """The survey's configuration; ``needs``: the files this command reads, which must exist (default all,
    :func:`sipas.config.load_config`)."""
    from sipas.config import find_survey

    return find_survey(args.survey, root=_root(args), needs=needs)


def _stage(name: str):
    def run(args: argparse.Namespace) -> int:
        from sipas import pipeline

        t0 = time.perf_counter()
        print(f"{name}: {args.survey} ...", flush=True)
        res = pipeline.RUNNERS[name](_cfg(args), root=_root(args))
        for p in res.written:
            print(f"  wrote {p}")
        for model, why in (res.info.get("not_estimable") or {}).items():
            print(f"  note: block {model!r} not estimable ({why}); its rows hold NaN")
        print(f"{name}: done in {time.perf_counter() - t0:.1f} s", flush=True)
        return 0
    return run


def cmd_synth(args: argparse.Namespace) -> int:
    from sipas.synth import synthesize_demo
    from sipas.synth_national import NATIONAL_DEMOS, synthesize_national
    from sipas.synth_service import SERVICE_DEMOS, synthesize_service

    out = _root(args) / "data" / "raw"
    service = [d for d in SERVICE_DEMOS if args.all or d.survey_id == args.survey]
    for d in service:
        print(f"{synthesize_service(out, d)}: service-user demo ({d.mode} mode)")
    if service and not args.all:
        return 0
    # the national demos (a few minutes each) are written only when named
    made = ([synthesize_national(out, survey_id=args.survey)] if not args.all and args.survey in NATIONAL_DEMOS
            else synthesize_demo(out, survey_id=None if args.all else args.survey))
    for r in made:
        print(f"{r.survey_dir}: population {r.n_households_population} households, sample {r.n_sampled}, "
              f"{r.n_forms} forms entered")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from sipas.config import FILE_GROUPS

    # the response files and the sample list come later (data entry, `sipas sample`): named if not there yet
    cfg = _cfg(args, needs=tuple(g for g in FILE_GROUPS if g not in ("responses", "sampling.sample_file")))
    kind = cfg.kind
    print(f"{cfg.path}: OK — {kind.name} survey ({kind.label['en']}), {cfg.province['vi']} {cfg.year}, "
          f"{cfg.structure}, instrument {cfg.instrument_id} {cfg.instrument_version}, seed {cfg.seed}")
    d = cfg.design
    print(f"  design: strata {d.strata}, PSU {d.psu}, report unit {d.report_unit}; fpc: {kind.design.fpc}")
    from sipas.forms.instrument import load_instrument
    from sipas.forms.instrument.rules import resolve_rule

    rule = resolve_rule(load_instrument(cfg.instrument_id, cfg.instrument_version).raw,
                        cfg.extra.get("index_rule"), file=cfg.path)
    print(f"  index rule: {rule.id} ({rule.origin}; {'confirmed' if rule.confirmed else 'NOT confirmed'}): "
          f"{rule.describe()}")
    for spec in kind.frames:
        if spec.name not in cfg.frames:
            need = "needed by `sipas sample`" if spec.required else "optional"
            print(f"  frame {spec.name}: not configured ({need})")
            continue
        frame = spec.read(cfg.frames[spec.name], structure=cfg.structure)
        print(f"  frame {spec.name}: {cfg.frames[spec.name]} ({len(frame)} rows, required columns present)")
    for name, p in cfg.frames.items():
        if not any(spec.name == name for spec in kind.frames):
            print(f"  frame {name}: {p} (not read by a {kind.name} survey)")
    from sipas.errors import ConfigError

    later = [(f"responses[{i}]", p) for i, p in enumerate(cfg.responses)]
    samp = (cfg.extra.get("sampling") or {}).get("sample_file")
    if samp:
        later.append(("sampling.sample_file", cfg.raw_path(samp, key="sampling.sample_file")))
    for key, p in later:
        if p.exists() and not p.is_file():
            raise ConfigError(f"file not found: {p} is a folder", file=cfg.path, key=key)
        print(f"  {key}: {p}{'' if p.is_file() else ' (not there yet)'}")
    if not cfg.responses:
        print("  responses: none yet (responses: []); `sipas clean` and the later stages need them")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from sipas import io as sio

    cfg = _cfg(args, needs=("frames", "restricted.contacts"))
    root = _root(args)
    with sio.transaction():
        res = cfg.kind.draw_sample(cfg, restricted_dir=root / "restricted" / cfg.survey_id,
                                   out_dir=cfg.processed_dir(root) / "sample")
    if hasattr(res, "summary_line"):   # a kind's own sample (service users: allocation and lists)
        print(res.summary_line(cfg.survey_id))
        for p in (*res.files, *res.restricted_files):
            print(f"  wrote {p}")
        return 0
    hh = res.households
    n_off = int((hh["list"] == "official").sum()) if "list" in hh.columns else len(hh)
    print(f"{cfg.survey_id}: {len(res.communes)} communes, {len(res.villages)} villages, "
          f"{n_off} households (+ {len(hh) - n_off} reserve), {int(res.allocation.iloc[:, -1].sum())} forms allocated")
    for p in (*res.files, *res.restricted_files):
        print(f"  wrote {p}")
    lst = next((p for p in res.files if p.name == "sample_households.csv"), None)
    if lst is not None:
        print(f"  the sample list (official and reserve households): copy {lst} into {cfg.raw_dir} "
              "and name it in survey.yml as sampling.sample_file")
    return 0


def cmd_forms(args: argparse.Namespace) -> int:
    from sipas.forms.instrument import load_instrument
    from sipas.forms.instrument.export import to_entry_template, to_xlsform, xlsform_to_xform

    cfg = _cfg(args, needs=())
    inst = load_instrument(cfg.instrument_id, cfg.instrument_version)
    out = cfg.reports_dir(_root(args)) / "forms"
    units = {"absent": cfg.design.absent_levels, "labels": cfg.kind.unit_labels(cfg.structure)}
    stem = f"{inst.id}-{inst.version}"
    from sipas import io as sio

    with sio.transaction():
        xls = to_xlsform(inst, out / f"{stem}.xlsform.xlsx", **units)
        tpl = to_entry_template(inst, out / f"{stem}.entry-template.xlsx", language=cfg.language, **units)
    xlsform_to_xform(xls)  # fails loudly if pyxform rejects the form
    print(f"  wrote {xls} (XLSForm for KoBoToolbox / ODK Collect; checked with pyxform)")
    print(f"  wrote {tpl} (Excel entry template for paper forms)")
    return 0


def _previous_stages(survey: str, root: Path, conn) -> None:
    """Child process of :func:`cmd_report`: stages 1-4 of ``survey``; sends ``""`` or the error text."""
    from sipas import pipeline
    from sipas.config import find_survey

    try:
        pcfg = find_survey(survey, root=root)
        for i, stage in enumerate(pipeline.STAGES, 1):
            print(f"  previous year [{i}/{len(pipeline.STAGES)}] {stage}", flush=True)
            pipeline.RUNNERS[stage](pcfg, root=root)
        conn.send("")
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it as a ReportError
        conn.send(f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def _start_previous(survey: str, root: Path):
    """Run the previous survey-year's stages 1-4 in a child process; returns a function that waits for it.

    The current year's notebooks do not read the previous year's files until the indices
    notebook (year over year), so both run at the same time; the returned function, called
    before that notebook, waits and raises :class:`~sipas.errors.ReportError` if the stages failed.
    """
    import multiprocessing as mp

    from sipas.errors import ReportError

    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_previous_stages, args=(survey, root, send), daemon=True)
    proc.start()
    send.close()

    result: list[str] = []

    def wait() -> None:
        if not result:
            try:
                result.append(recv.recv())
            except EOFError:
                proc.join()
                result.append(f"the process stopped (exit code {proc.exitcode})")
            proc.join()
        if result[0]:
            raise ReportError(f"previous survey-year {survey}: {result[0]}")
    return wait


def cmd_report(args: argparse.Namespace) -> int:
    from sipas import report

    root = _root(args)
    cfg = _cfg(args)
    prev = cfg.extra.get("previous_survey")
    t0 = time.perf_counter()
    before = {}
    if prev and not args.no_previous:
        print(f"previous year {prev}: stages 1-4 (for the year-over-year section), beside the notebooks", flush=True)
        before["04_indices"] = _start_previous(prev, root)
    try:
        report.render(args.survey, root=root, pdf=not args.no_pdf, one_kernel=not args.kernel_per_notebook,
                      before=before)
    finally:
        if "04_indices" in before:  # a failure before the indices notebook: still wait for the child
            try:
                before["04_indices"]()
            except SipasError:
                pass
    print(f"report: done in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from sipas.planning import PlanSettings, check_inputs, render_plan
    from sipas.planning.plan import planning_spec

    root = _root(args)
    cfg = _cfg(args, needs=("frames",))
    settings = PlanSettings(half_width=args.target, gap=args.gap, power=args.power, reps=args.reps,
                            design=args.design)
    check_inputs(cfg, root=root, settings=settings)
    t0 = time.perf_counter()
    html = render_plan(args.survey, root=root, settings=settings)
    for line in planning_spec(cfg).summary_lines(cfg, root=root):
        print(line)
    print(f"plan: {html} ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sipas", description="SIPAS survey analysis: sampling, cleaning, weighting, "
                                "estimation, indices and the yearly report.")
    p.add_argument("--root", help="project root (default: found from the working directory)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--survey", default=DEFAULT_SURVEY, help=f"survey id under data/raw (default {DEFAULT_SURVEY})")
        sp.set_defaults(func=func)
        return sp

    sp = add("synth", cmd_synth, "write the embedded demo survey(s) under data/raw/")
    sp.add_argument("--all", action="store_true", help="write every demo survey-year")
    add("check", cmd_check, "validate a survey configuration")
    add("forms", cmd_forms, "export the survey's questionnaire as XLSForm and as an Excel entry template")
    add("sample", cmd_sample, "draw the sample and write the annexes")
    add("clean", _stage("cleaning"), "stage 1: ingest and clean the forms")
    add("reliability", _stage("reliability"), "stage 2: reliability of the scales")
    add("weight", _stage("weighting"), "stage 3: weights")
    add("indices", _stage("indices"), "stage 4: indices, rankings, change")
    sp = add("report", cmd_report, "run the notebook chain and render reports/<id>/report.html")
    sp.add_argument("--no-previous", action="store_true", help="do not (re)process the previous survey-year")
    sp.add_argument("--no-pdf", action="store_true", help="skip the PDF (report.html only)")
    sp.add_argument("--kernel-per-notebook", action="store_true",
                    help="run each notebook in a kernel of its own (papermill) instead of one kernel for the chain")
    sp = add("plan", cmd_plan, "plan next year's sample from a finished survey-year (variance components, "
                               "sample sizes, cost, design simulation) and render reports/<id>/plan.html")
    sp.add_argument("--target", type=float, default=3.0, help="CI half-width per report unit, index points (default 3)")
    sp.add_argument("--gap", type=float, default=None, help="ranking goal: adjacent units separable at this gap")
    sp.add_argument("--power", type=float, default=0.8,
                    help="power of the 5%% two-sample test of the ranking goal (default 0.8)")
    sp.add_argument("--reps", type=int, default=20,
                    help="simulation replicates per design (default 20: about 20 s for a province's demo, about "
                         "100 s for the national demo's 34 provinces; 200 for a final plan)")
    sp.add_argument("--design", default=None,
                    help="design of the allocation annex, one the survey's kind has: household pps (default), "
                         "stratified_srs, seed_rule; national pps (default), stratified_srs (seed 003 has no "
                         "commune rule); service users target (default: each unit's own forms), "
                         "fixed, proportional, neyman")
    return p


def main(argv: list[str] | None = None) -> int:
    from sipas.threads import child_thread_env

    args = build_parser().parse_args(argv)
    try:
        with child_thread_env():
            return int(args.func(args) or 0)
    except SipasError as exc:
        print(f"sipas: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file sipas could not open or write, outside the typed checks
        where = exc.filename if exc.filename is not None else ""
        print(f"sipas: error: {where}{': ' if where else ''}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _one_line(text: str) -> str:
    """``text`` on one line (line breaks of quoted values shown as ``\\n``)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


if __name__ == "__main__":
    sys.exit(main())
