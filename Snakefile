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
include: "workflow/rules/report.smk"


rule all:
    input:
        pdf=expand(rules.pdf.output.pdf, lang=LANGS),
        table=rules.claims_table.output.table,
    default_target: True
