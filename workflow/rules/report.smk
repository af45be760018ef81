# The bilingual report: HTML from templates + metrics + figures, then PDF. Templates, CSS and the
# per-language text are inputs of these rules only, so a wording fix re-renders the report alone.

from glob import glob

REPORT_CODE = sorted(glob(f"{SRC}/report/*.py"))


def report_text(w):
    """The text one language's report reads: its own prose, and the shared formulas."""
    files = [f"report/text/{w.lang}/main.yaml"]
    files += [f"report/text/{w.lang}/experiments/{e}.yaml" for e in EXPS]
    files += [f"report/text/formulas/{e}.yaml" for e in EXPS]
    return files


def stage_benchmarks(w):
    """The benchmark files of every job before the report, for the appendix's run times."""
    files = []
    for exp in EXPS:
        for seed in seeds(exp):
            files.append(rules.data.benchmark.format(exp=exp, seed=seed))
            files.append(rules.train.benchmark.format(exp=exp, seed=seed))
        files.append(rules.metrics.benchmark.format(exp=exp))
        files += [rules.figures.benchmark.format(exp=exp, lang=lang) for lang in LANGS]
    return files


rule html:
    message:
        "report: HTML ({wildcards.lang})"
    input:
        metrics=expand(rules.metrics.output.metrics, exp=EXPS),
        figures=expand(rules.figures.output.figures, exp=EXPS, allow_missing=True),
        benchmarks=stage_benchmarks,
        text=report_text,
        templates=sorted(glob("report/templates/*.j2")),
        css="report/style.css",
        code=REPORT_CODE,
    output:
        html="results/report/companion_{lang}.html",
    params:
        meta=json.dumps(REPORT_META, sort_keys=True),
    log:
        "results/logs/report/html-{lang}.log",
    benchmark:
        "results/benchmarks/report/html-{lang}.tsv"
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        ENV
    shell:
        "python -m companion html --lang {wildcards.lang} --metrics {input.metrics} "
        "--figures-root results/figures --benchmarks {input.benchmarks} --meta {params.meta:q} "
        "--out {output.html} > {log} 2>&1"


rule pdf:
    message:
        "report: PDF ({wildcards.lang})"
    input:
        html=rules.html.output.html,
        css="report/style.css",
        code=REPORT_CODE,
    output:
        pdf="results/report/companion_{lang}.pdf",
    log:
        "results/logs/report/pdf-{lang}.log",
    benchmark:
        "results/benchmarks/report/pdf-{lang}.tsv"
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        ENV
    shell:
        "python -m companion pdf --html {input.html} --out {output.pdf} > {log} 2>&1"
