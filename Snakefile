# The lecture companion: data -> train -> metrics -> figures -> bilingual report.
#
#   snakemake --cores 8                                   # default preset, both PDFs
#   snakemake --cores 2 --configfile presets/tiny.yaml    # the tiny preset (tests)
#   snakemake --cores 8 --configfile presets/full.yaml    # paper scale, for a GPU
#
# The configuration is validated (workflow/schemas/) before any job runs.

configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/experiment.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/bench.smk"
include: "workflow/rules/report.smk"


# Every stage's outputs are targets, not only the PDFs: Snakemake ignores a deleted intermediate
# file while what was built from it is present, and a deleted run file must be rebuilt (with
# everything downstream of it).
rule all:
    input:
        data=[rules.data.output.data.format(exp=e, seed=s) for e in EXPS for s in seeds(e)],
        runs=[rules.train.output.npz.format(exp=e, seed=s) for e in EXPS for s in seeds(e)],
        records=[rules.train.output.json.format(exp=e, seed=s) for e in EXPS for s in seeds(e)],
        metrics=expand(rules.metrics.output.metrics, exp=EXPS),
        audit=expand(rules.audit.output.metrics, exp=AUDITED),
        table=rules.claims_table.output.table,
        bench=rules.bench.output.result,
        figures=expand(rules.figures.output.figures, exp=EXPS, lang=LANGS),
        html=expand(rules.html.output.html, lang=LANGS),
        pdf=expand(rules.pdf.output.pdf, lang=LANGS),
    default_target: True
