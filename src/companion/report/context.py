"""The template context: every number, verdict and path the report shows, read from files.

Inputs are the metrics files (``results/metrics/<id>.json``, written by
:func:`companion.pipeline.run_metrics`), the audit's metrics files on fresh seeds
(``results/audit/<id>.json``, see :mod:`companion.audit`), the figure files
(``<figures_root>/<id>/<lang>/<name>.svg`` for each name in the experiment's ``FIGURES``),
Snakemake's benchmark files (``results/benchmarks/<rule>/<label>.tsv``) and the build's meta
data. Nothing here computes a result or a verdict; it formats what the metrics say, and fails
loudly when an input the report needs is missing.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from companion import experiments
from companion.io import read_json
from companion.report import decision, mathsvg, robustness
from companion.report import lecture as lecturemod
from companion.report import text as textmod

PARTS = (1, 2, 3, 4)
RELATIONS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">", "~=": "≈"}
MARKS = {"robust": "✓", "pooled_only": "✓", "fragile": "△", "failed": "✗"}
# Prose refers to a figure of its own experiment as [[figure:<name>]]; it becomes a link.
_FIGURE_REF = re.compile(r"\[\[figure:([A-Za-z0-9_]+)\]\]")
# Packages that build the report itself, listed beside the ones the experiments recorded.
REPORT_PACKAGES = ("jinja2", "ziamath", "weasyprint", "pyyaml")
META_KEYS = ("preset", "config_hash", "commit", "build_date")
# W3C dates, which the PDF's creation date accepts; anything else is shown but not embedded.
_W3C_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?)?)?")
# Long sweeps in the configuration table: show the ends, not every value.
_LIST_HEAD, _LIST_TAIL = 4, 2

FigureNames = Callable[[str], Sequence[str]]
PostHocClaims = Callable[[str], Mapping[str, str]]


class ReportInputError(ValueError):
    """An input the report needs is missing or inconsistent."""


# ---------------------------------------------------------------- numbers

def format_number(value: Any) -> Markup:
    """Three significant digits; scientific notation (``1.23×10⁻⁴``) outside [0.01, 1000).

    Integers below a million are shown exactly (sizes, counts, seeds); ``None`` (a NaN or an
    infinity in the metrics file) is a dash.
    """
    if value is None:
        return Markup("—")
    if isinstance(value, bool):
        return Markup("✓" if value else "✗")
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, int) and abs(value) < 1_000_000:
        return Markup(str(value).replace("-", "−"))
    x = float(value)
    if not math.isfinite(x):
        return Markup("—")
    if x == 0:
        return Markup("0")
    mantissa, exponent = f"{x:.2e}".split("e")
    exp = int(exponent)
    if -2 <= exp <= 2:
        decimals = max(0, 2 - exp)
        out = Markup(f"{x:.{decimals}f}")
    else:
        out = Markup(f"{mantissa}×10<sup>{exp}</sup>")
    return Markup(str(out).replace("-", "−"))


def format_config_value(value: Any, n_values: str = "{n} values") -> Markup:
    """A configuration value as written (no rounding); a long list keeps its ends and says how
    many values it has (``n_values``, a template with ``{n}``)."""
    if isinstance(value, bool) or value is None:
        return escape(str(value).lower())
    if isinstance(value, float):
        return escape(f"{value:g}")
    if isinstance(value, (list, tuple)):
        items = [format_config_value(v, n_values) for v in value]
        if len(items) > _LIST_HEAD + _LIST_TAIL + 1:
            shown = items[:_LIST_HEAD] + [Markup("…")] + items[-_LIST_TAIL:]
            return Markup("[{}] ({})").format(Markup(", ").join(shown),
                                              n_values.format(n=len(items)))
        return Markup("[{}]").format(Markup(", ").join(items))
    if isinstance(value, Mapping):
        return Markup("{{{}}}").format(Markup(", ").join(
            Markup("{}: {}").format(k, format_config_value(v, n_values))
            for k, v in value.items()))
    return escape(str(value))


def format_seeds(seeds: Sequence[int]) -> str:
    """``[0, 1, 2, 3]`` as ``0–3``; anything else comma-separated."""
    seeds = [int(s) for s in seeds]
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested configuration as ``(dotted.key, value)`` pairs, in file order."""
    rows: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


# ---------------------------------------------------------------- inputs

def read_benchmarks(paths: Sequence[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Snakemake benchmark files grouped by rule: ``[{rule, jobs: [...], total_s}]``.

    Each path is ``.../<rule>/<label>.tsv``; a file with several rows (``repeat``) counts their
    mean time and largest memory.
    """
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(Path(p) for p in paths):
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows or "s" not in rows[0]:
            raise ReportInputError(f"{path}: not a Snakemake benchmark file (no 's' column)")
        seconds = [_float(r.get("s")) for r in rows]
        rss = [_float(r.get("max_rss")) for r in rows]
        job = {
            "label": path.stem,
            "seconds": _mean(seconds),
            "max_rss": max((v for v in rss if v is not None), default=None),
        }
        by_rule.setdefault(path.parent.name, []).append(job)
    return [
        {"rule": rule, "jobs": jobs,
         "total_s": sum(j["seconds"] for j in jobs if j["seconds"] is not None)}
        for rule, jobs in sorted(by_rule.items())
    ]


def _float(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None  # Snakemake writes "NA" where a platform cannot measure
    return x if math.isfinite(x) else None


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _module_figures(exp_id: str) -> Sequence[str]:
    return experiments.get(exp_id).FIGURES


def _module_post_hoc(exp_id: str) -> Mapping[str, str]:
    from companion.audit import post_hoc

    return post_hoc(experiments.get(exp_id))


def _load_metrics(paths: Sequence[str | os.PathLike[str]],
                  order: Sequence[str]) -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = {}
    for path in paths:
        metrics = read_json(path)
        exp_id = metrics.get("experiment")
        if exp_id not in order:
            raise ReportInputError(f"{path}: experiment {exp_id!r} is not in the registry "
                                   f"({', '.join(order)})")
        if exp_id in loaded:
            raise ReportInputError(f"{path}: a second metrics file for {exp_id!r}")
        if metrics.get("part") not in PARTS:
            raise ReportInputError(f"{path}: 'part' must be one of {PARTS}")
        metrics["_path"] = str(path)
        loaded[exp_id] = metrics
    return loaded


def _versions(metrics: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    seen: dict[str, list[str]] = {}
    for m in metrics:
        for name, version in m.get("provenance", {}).get("versions", {}).items():
            if version not in seen.setdefault(name, []):
                seen[name].append(version)
    for name in REPORT_PACKAGES:
        if name not in seen:
            try:
                seen[name] = [metadata.version(name)]
            except metadata.PackageNotFoundError:
                continue
    return [(name, ", ".join(versions)) for name, versions in seen.items()]


# ---------------------------------------------------------------- context

def _need(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        raise textmod.TextError(f"{where}: missing entry {key!r}")
    return mapping[key]


def claim_anchor(claim_id: str) -> str:
    """The id of a claim's verdict paragraph (dots would read as CSS classes in selectors)."""
    return "claim-" + re.sub(r"[^A-Za-z0-9_-]", "-", claim_id)


def link_figures(html: Markup, figures: Mapping[str, Mapping[str, str]], where: str) -> Markup:
    """Replace each ``[[figure:<name>]]`` in rendered prose by a link to that figure, labelled
    with its number; a name the experiment does not draw is an error naming ``where``."""
    def link(match: re.Match[str]) -> str:
        name = match[1]
        if name not in figures:
            raise textmod.TextError(f"{where}: [[figure:{name}]] is not one of this "
                                    f"experiment's figures ({', '.join(figures)})")
        fig = figures[name]
        return str(Markup('<a class="figure-ref" href="#{}">{}</a>').format(fig["anchor"],
                                                                          fig["label"]))
    return Markup(_FIGURE_REF.sub(link, str(html)))


def _claim(claim: Mapping[str, Any], prose: Mapping[str, Any], t: Mapping[str, Any],
           figures: Mapping[str, Mapping[str, str]], where: str) -> dict[str, Any]:
    text = _need(prose["claims"], claim["id"], f"{prose['_path']}: claims")
    passed = bool(claim["passed"])
    relation = claim.get("relation", "")
    try:
        seeds = robustness.seed_robustness(claim)
    except robustness.MissingPerSeed as exc:
        raise ReportInputError(f"{where}: {exc}") from exc
    status = seeds["status"]
    k, n = seeds["seeds_passed"], seeds["seeds_total"]
    if seeds["pooled_only"]:
        seeds_short, seeds_long = t["ledger"]["pooled_only"], t["labels"]["pooled_only"]
    else:
        seeds_short = textmod.fill(t["ledger"]["seeds"], k=k, n=n)
        seeds_long = textmod.fill(t["labels"]["seeds_passed"], k=k, n=n)
    spread = spread_long = None
    if seeds["spread"] is not None:
        low, high = (format_number(v) for v in seeds["spread"])
        spread = Markup("{}…{}").format(low, high)
        spread_long = Markup(escape(t["labels"]["spread"])).format(low=low, high=high)
    # A diverged run has no measured value: the ledger and the verdict say so instead of a dash.
    diverged = claim.get("reason") == "diverged"
    measured = (escape(t["verdict"]["diverged"]) if diverged and claim["measured"] is None
                else format_number(claim["measured"]))
    return {
        "id": claim["id"],
        "claim_anchor": claim_anchor(claim["id"]),
        "text": link_figures(textmod.inline_html(text), figures, where),
        "measured": measured,
        "expected": format_number(claim["expected"]),
        "relation": RELATIONS.get(relation, relation),
        "criterion": decision.criterion(claim, RELATIONS.get(relation, relation), format_number),
        "quantity": decision.quantity(claim["id"], prose["quantities"], prose["_path"]),
        "passed": passed,
        "status": status,
        "mark": MARKS[status],
        "word": t["verdict"]["diverged" if diverged else "fragile" if status == "fragile" else
                             "passed" if passed else "failed"],
        "seeds_short": seeds_short,
        "seeds_long": seeds_long,
        "pooled_only_reason": seeds["reason"],
        "some_seeds": (textmod.fill(t["ledger"]["some_seeds"], k=k, n=n)
                       if status == "failed" and k else ""),
        "spread": spread,
        "spread_long": spread_long,
        # Generated in the report's language from the claim's fields; nothing for a diverged
        # claim, whose context numbers mean nothing.
        "detail": (Markup("") if diverged else
                   decision.context_line(claim, prose["context"], t["context"],
                                         t["labels"]["separator"], format_number,
                                         prose["_path"])),
    }


def _audit(metrics: Mapping[str, Any], audit: Mapping[str, Any] | None,
           post_hoc_ids: Sequence[str], claims: list[dict[str, Any]],
           prose: Mapping[str, Any], t: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per claim whose tolerance was chosen after seeing data: its value and verdict on
    the preset's seeds and on the audit's fresh seeds. A claim that fails on the fresh seeds is
    marked not reproduced in ``claims`` (its ledger row and verdict paragraph say why)."""
    if not post_hoc_ids:
        return []
    where = prose["_path"]
    chosen = prose.get("post_hoc")
    if not isinstance(chosen, Mapping):
        raise ReportInputError(f"{where}: 'post_hoc' must map each of {', '.join(post_hoc_ids)} "
                               "to what was chosen after seeing data")
    shown = {c["id"]: c for c in claims}
    fresh = {c["id"]: c for c in (audit or {}).get("claims", [])}
    rows = []
    for cid in post_hoc_ids:
        if cid not in shown:
            raise ReportInputError(f"{metrics['_path']}: POST_HOC names {cid!r}, which is not "
                                   "one of its claims")
        row = {
            "id": cid,
            "claim_anchor": shown[cid]["claim_anchor"],
            "chosen": textmod.inline_html(_need(chosen, cid, f"{where}: post_hoc")),
            "criterion": shown[cid]["criterion"],
            "preset_measured": shown[cid]["measured"],
            "preset_seeds": format_seeds(metrics.get("seeds", [])),
            "preset_passed": shown[cid]["passed"],
            "preset_mark": MARKS["robust" if shown[cid]["passed"] else "failed"],
        }
        if audit is None:
            row.update(audited=False, fresh_measured=Markup("—"), fresh_seeds="—",
                       fresh_passed=None, fresh_mark="", fresh_word=t["audit"]["not_run"],
                       fresh_per_seed="")
        else:
            if cid not in fresh:
                raise ReportInputError(f"{audit['_path']}: no claim {cid!r} on the fresh seeds")
            claim = fresh[cid]
            per_seed = claim.get("per_seed") or []
            k = sum(bool(s["passed"]) for s in per_seed)
            row.update(
                audited=True,
                fresh_measured=format_number(claim["measured"]),
                fresh_seeds=format_seeds(audit.get("seeds", [])),
                fresh_passed=bool(claim["passed"]),
                fresh_mark=MARKS["robust" if claim["passed"] else "failed"],
                fresh_word=t["verdict"]["passed" if claim["passed"] else "failed"],
                fresh_per_seed=(textmod.fill(t["ledger"]["seeds"], k=k, n=len(per_seed))
                                if per_seed else ""),
            )
            if not claim["passed"] and shown[cid]["passed"]:
                # Holding only on the seeds its tolerance was chosen on is not reproducing it.
                shown[cid].update(passed=False, status="failed", mark=MARKS["failed"],
                                  word=t["verdict"]["failed_fresh"], some_seeds="",
                                  seeds_short=t["ledger"]["failed_fresh"])
        rows.append(row)
    return rows


def _lecture(exp_id: str, lang: str, t: Mapping[str, Any], text_root: Path) -> dict[str, Any]:
    """The slides an experiment reproduces and its try-it commands, in ``lang``."""
    data = lecturemod.load_lecture(exp_id, text_root)
    refs = []
    for ref in data["lecture"]:
        same = ref["en"] == ref["ja"]
        template = t["labels"]["lecture_ref_same" if same else "lecture_ref"]
        refs.append({
            "part": ref["part"],
            "text": textmod.fill(template, part=ref["part"], heading=ref[lang],
                                 original=ref["ja"]),
            "short": ref[lang],
        })
    tries = [{"command": lecturemod.try_command_parts(exp_id, entry["set"]),
              "observe": textmod.prose_html(entry["observe"][lang])}
             for entry in data["try_it"]]
    return {"refs": refs, "try_it": tries}


def _experiment(metrics: Mapping[str, Any], lang: str, t: Mapping[str, Any],
                figures_root: Path, html_dir: Path, text_root: Path,
                figure_names: FigureNames, counters: dict[str, int],
                audit: Mapping[str, Any] | None = None,
                post_hoc_ids: Sequence[str] = ()) -> dict[str, Any]:
    exp_id = metrics["experiment"]
    prose = textmod.load_experiment(lang, exp_id, text_root)
    where = prose["_path"]
    seeds = format_seeds(metrics.get("seeds", []))
    provenance = textmod.fill(t["provenance"], experiment=exp_id,
                              config_hash=metrics["config_hash"], seeds=seeds)

    figures = []
    refs: dict[str, dict[str, str]] = {}
    for name in figure_names(exp_id):
        path = Path(figures_root) / exp_id / lang / f"{name}.svg"
        if not path.exists():
            raise ReportInputError(f"{path}: figure {name!r} of {exp_id} not found")
        counters["figure"] += 1
        caption = _need(prose["figures"], name, f"{where}: figures")
        figures.append({
            "name": name,
            "anchor": f"fig-{exp_id}-{name}",
            "src": Path(os.path.relpath(path, html_dir)).as_posix(),
            "label": textmod.fill(t["labels"]["figure"], n=counters["figure"]),
            "caption": textmod.inline_html(caption),
            "provenance": provenance,
        })
        refs[name] = {"anchor": figures[-1]["anchor"], "label": figures[-1]["label"]}
    for fig in figures:  # a caption may point at a later figure
        fig["caption"] = link_figures(fig["caption"], refs, where)

    table = None
    if metrics.get("table") and metrics["table"].get("columns"):
        columns = metrics["table"]["columns"]
        bad = [i for i, row in enumerate(metrics["table"]["rows"]) if len(row) != len(columns)]
        if bad:
            raise ReportInputError(f"{metrics['_path']}: table row(s) {bad} do not have "
                                   f"{len(columns)} cells like 'columns'")
        counters["table"] += 1
        table = {
            "label": textmod.fill(t["labels"]["table"], n=counters["table"]),
            "headers": [textmod.header_html(_need(prose["table"], c, f"{where}: table"))
                        for c in columns],
            "rows": [[format_number(v) for v in row] for row in metrics["table"]["rows"]],
        }

    formulas = [mathsvg.display_html(f) for f in textmod.load_formulas(exp_id, text_root)]
    claims = [_claim(c, prose, t, refs, metrics["_path"]) for c in metrics.get("claims", [])]
    records = (metrics.get("divergence") or {}).get("records")
    if records:
        where_diverged = decision.divergence_line(records, t["divergence"],
                                                  t["labels"]["separator"], format_number)
        for shown, claim in zip(claims, metrics.get("claims", []), strict=True):
            if claim.get("reason") == "diverged":
                shown["detail"] = where_diverged
    audit_rows = _audit(metrics, audit, post_hoc_ids, claims, prose, t)
    lecture = _lecture(exp_id, lang, t, text_root)
    return {
        "id": exp_id,
        "anchor": f"exp-{exp_id}",
        "catalog_id": metrics.get("catalog_id", ""),
        "part": metrics["part"],
        "title": textmod.inline_html(prose["title"]),
        "idea": link_figures(textmod.prose_html(prose["idea"]), refs, where),
        "formulas": formulas,
        "setup": link_figures(textmod.prose_html(prose["setup"]), refs, where),
        "config": [(key, format_config_value(value, t["labels"]["n_values"]))
                   for key, value in flatten(metrics.get("config", {}))],
        "config_hash": metrics["config_hash"],
        "seeds": seeds,
        "devices": ", ".join(metrics.get("provenance", {}).get("devices", [])),
        "figures": figures,
        "table": table,
        "claims": claims,
        "audit": audit_rows,
        "caveats": link_figures(textmod.prose_html(prose["caveats"]), refs, where),
        "lecture": lecture["refs"],
        "try_it": lecture["try_it"],
    }


def _engine_benchmark(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The numbers of ``python -m companion bench`` the appendix shows (None: not run)."""
    if not result:
        return None
    w = result["workload"]
    return {
        "device": f"{result['device']} ({result['device_name']}), {result['threads']}",
        "workload": f"{w['models']} × (d={w['d']} → M={w['width']} → 1), n={w['n']}, "
                    f"T={w['steps']}",
        "loop_s": result["loop_s"],
        "batched_s": result["batched_s"],
        "ratio": result["ratio"],
        "ratio_target": result["targets"]["ratio"],
        "largest_gflops": result["largest_kernel_gflops"],
        "peak_gflops": result["peak_gflops"],
        "peak_percent": 100 * result["largest_kernel_peak_fraction"],
        "peak_reliable": result["largest_kernel_peak_fraction"] <= 1.0,
        "peak_target_percent": 100 * result["targets"]["peak_fraction"],
    }


def build_context(lang: str, metrics_paths: Sequence[str | os.PathLike[str]],
                  figures_root: str | os.PathLike[str],
                  benchmark_paths: Sequence[str | os.PathLike[str]],
                  meta: Mapping[str, Any], html_dir: str | os.PathLike[str], *,
                  text_root: str | os.PathLike[str] = textmod.TEXT_ROOT,
                  order: Sequence[str] = experiments.EXPERIMENTS,
                  figure_names: FigureNames | None = None,
                  audit_paths: Sequence[str | os.PathLike[str]] = (),
                  post_hoc_claims: PostHocClaims | None = None) -> dict[str, Any]:
    """Everything the templates show for language ``lang``.

    ``meta`` needs ``preset``, ``config_hash``, ``commit`` and ``build_date``; with
    ``experiments`` (the configured ids) every configured experiment must have a metrics file and
    vice versa. ``html_dir`` is where the HTML will be written (figure paths are relative to it).
    ``figure_names(exp_id)`` defaults to the experiment module's ``FIGURES``. ``audit_paths``
    are the audit's metrics files on fresh seeds; ``post_hoc_claims(exp_id)`` (default: the
    module's ``POST_HOC``) names the claims whose tolerance was chosen after seeing data.
    """
    text_root = Path(text_root)
    missing_meta = [k for k in META_KEYS if k not in meta]
    if missing_meta:
        raise ReportInputError(f"meta lacks {', '.join(missing_meta)}")
    t = textmod.load_main(lang, text_root)
    by_id = _load_metrics(metrics_paths, order)
    configured = list(meta.get("experiments", by_id))
    unknown = [e for e in configured if e not in order]
    if unknown:
        raise ReportInputError(f"configured experiment(s) {', '.join(unknown)} not in the "
                               f"registry ({', '.join(order)})")
    no_metrics = [e for e in configured if e not in by_id]
    if no_metrics:
        raise ReportInputError(f"configured experiment(s) {', '.join(no_metrics)} have no "
                               "metrics file among the report's inputs")
    unconfigured = [e for e in by_id if e not in configured]
    if unconfigured:
        raise ReportInputError(f"metrics for {', '.join(unconfigured)}, which the "
                               "configuration does not list")

    audits = _load_metrics(audit_paths, order)
    stray = [e for e in audits if e not in by_id]
    if stray:
        raise ReportInputError(f"audit metrics for {', '.join(stray)}, which has no metrics file "
                               "among the report's inputs")
    post_hoc_of = post_hoc_claims or _module_post_hoc
    counters = {"figure": 0, "table": 0}
    exps = [_experiment(by_id[e], lang, t, Path(figures_root), Path(html_dir), text_root,
                        figure_names or _module_figures, counters, audits.get(e),
                        list(post_hoc_of(e)))
            for e in order if e in by_id]
    built = {e["catalog_id"] for e in exps}
    parts = []
    for number in PARTS:
        part_text = _need(t["parts"], f"part{number}", f"{textmod.main_path(lang, text_root)}")
        parts.append({
            "number": number,
            "anchor": f"part-{number}",
            "label": textmod.fill(t["labels"]["part"], n=number),
            "title": textmod.inline_html(part_text["title"]),
            "intro": textmod.prose_html(part_text["intro"]),
            "experiments": [e for e in exps if e["part"] == number],
            # The catalog's claims of this part that no built experiment tests yet.
            "pending": [(cid, textmod.inline_html(claim))
                        for cid, claim in (part_text.get("pending") or {}).items()
                        if cid not in built],
        })

    ledger = [dict(c, experiment=e["id"], anchor=e["anchor"], catalog_id=e["catalog_id"],
                   lecture=e["lecture"][0],
                   lecture_part=textmod.fill(t["labels"]["part"], n=e["lecture"][0]["part"]))
              for e in exps for c in e["claims"]]
    passed = sum(c["passed"] for c in ledger)
    counts = robustness.count_statuses(ledger)
    summary = textmod.fill(t["ledger"]["summary"], passed=passed, total=len(ledger),
                           robust=counts["robust"] + counts["pooled_only"],
                           fragile=counts["fragile"], failed=counts["failed"])
    if counts["pooled_only"]:
        summary += " " + textmod.fill(t["ledger"]["summary_pooled"], pooled=counts["pooled_only"])
    audit_rows = [row for e in exps for row in e["audit"]]
    if audit_rows:
        decided = [row for row in audit_rows if row["audited"]]
        summary += " " + textmod.fill(t["ledger"]["summary_audit"], total=len(audit_rows),
                                      decided=len(decided),
                                      held=sum(bool(row["fresh_passed"]) for row in decided))
    devices = sorted({d for m in by_id.values()
                      for d in m.get("provenance", {}).get("devices", [])})
    all_metrics = [by_id[e] for e in order if e in by_id]
    return {
        "lang": lang,
        "t": t,
        "title": t["title"],
        "meta": {
            "preset": meta["preset"],
            "config_hash": meta["config_hash"],
            "commit": meta["commit"],
            "build_date": meta["build_date"],
            "created": meta["build_date"] if _W3C_DATE.fullmatch(str(meta["build_date"])) else "",
            "devices": ", ".join(devices) if devices else "—",
            "languages": ", ".join(meta.get("languages", [lang])),
        },
        "intro": textmod.prose_html(t["introduction"]["body"]),
        "ledger": {
            "rows": ledger,
            "passed": passed,
            "total": len(ledger),
            "counts": counts,
            "summary": summary,
        },
        "parts": parts,
        "experiments": exps,
        "appendix": {
            "versions": _versions(all_metrics),
            "runtimes": read_benchmarks(benchmark_paths),
            "engine": _engine_benchmark(meta.get("engine_benchmark")),
        },
        "format_number": format_number,
    }
