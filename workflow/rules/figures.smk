# Figures per experiment and language, drawn from the metrics file alone.


rule figures:
    message:
        "figures: {wildcards.exp} ({wildcards.lang})"
    input:
        metrics=rules.metrics.output.metrics,
        code=lambda w: experiment_sources(w) + [f"{SRC}/plots/style.py"],
    output:
        figures=report(
            directory("results/figures/{exp}/{lang}"),
            patterns=["{name}.svg"],
            caption="../report_caption.rst",
            category="Figures",
            subcategory="{exp}",
            labels={"experiment": "{exp}", "language": "{lang}", "figure": "{name}"},
        ),
    log:
        "results/logs/figures/{exp}-{lang}.log",
    benchmark:
        "results/benchmarks/figures/{exp}-{lang}.tsv"
    threads: 1
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        ENV
    shell:
        "python -m companion figures {wildcards.exp} --metrics {input.metrics} "
        "--lang {wildcards.lang} --outdir {output.figures} > {log} 2>&1"
