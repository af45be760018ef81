# The bilingual report: HTML from templates + metrics + figures, then PDF. Templates, CSS and the
# per-language text are inputs of these rules only, so a wording fix re-renders the report alone.


rule html:
    message:
        "report: HTML ({wildcards.lang})"
    input:
        metrics=expand(rules.metrics.output.metrics, exp=EXPS),
        audit=expand(rules.audit.output.metrics, exp=AUDITED),
        figures=expand(rules.figures.output.figures, exp=EXPS, allow_missing=True),
        benchmarks=stage_benchmarks,
        text=report_text,
        templates=sorted(glob("report/templates/*.j2")),
        css="report/style.css",
        bench=rules.bench.output.result,
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
        "--bench {input.bench} --audit {input.audit} "
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
