# data -> train -> metrics: one generic chain for every experiment ({exp}) and seed ({seed}).


rule data:
    message:
        "data: {wildcards.exp}, seed {wildcards.seed}"
    input:
        code=experiment_sources,
    output:
        data="results/data/{exp}/seed{seed}.npz",
    params:
        cfg=section_json(keep_seeds=False),
    log:
        "results/logs/data/{exp}/seed{seed}.log",
    benchmark:
        "results/benchmarks/data/{exp}-seed{seed}.tsv"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        ENV
    shell:
        f"{THREAD_ENV} "
        "python -m companion data {wildcards.exp} --seed {wildcards.seed} --cfg {params.cfg:q} "
        "--out {output.data} > {log} 2>&1"


rule train:
    message:
        "train: {wildcards.exp}, seed {wildcards.seed} on {params.device}"
    input:
        data=rules.data.output.data,
        code=experiment_sources,
    output:
        npz="results/runs/{exp}/seed{seed}.npz",
        json="results/runs/{exp}/seed{seed}.json",
    params:
        cfg=section_json(keep_seeds=False),
        device=config["device"],
    log:
        "results/logs/train/{exp}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{exp}-seed{seed}.tsv"
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        # A GPU is asked of a scheduler only where training may use one.
        gpu=0 if config["device"] == "cpu" else res("train", "gpu", 0),
    conda:
        ENV
    shell:
        f"{THREAD_ENV} "
        "python -m companion train {wildcards.exp} --seed {wildcards.seed} --cfg {params.cfg:q} "
        "--data {input.data} --device {params.device} --threads {threads} "
        "--out-npz {output.npz} --out-json {output.json} > {log} 2>&1"


rule metrics:
    message:
        "metrics: {wildcards.exp} over seeds {params.seeds}"
    input:
        runs=lambda w: expand(rules.train.output.npz, exp=w.exp, seed=seeds(w.exp)),
        records=lambda w: expand(rules.train.output.json, exp=w.exp, seed=seeds(w.exp)),
        code=experiment_sources,
    output:
        metrics="results/metrics/{exp}.json",
    params:
        cfg=section_json(keep_seeds=True),
        seeds=lambda w: ",".join(map(str, seeds(w.exp))),
    log:
        "results/logs/metrics/{exp}.log",
    benchmark:
        "results/benchmarks/metrics/{exp}.tsv"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        ENV
    shell:
        f"{THREAD_ENV} "
        "python -m companion metrics {wildcards.exp} --cfg {params.cfg:q} --runs {input.runs} "
        "--out {output.metrics} > {log} 2>&1"


rule audit:
    message:
        "audit: {wildcards.exp}'s post-hoc tolerances on fresh seeds {params.seeds}"
    input:
        runs=lambda w: expand(rules.train.output.npz, exp=w.exp, seed=fresh_seeds(w.exp)),
        records=lambda w: expand(rules.train.output.json, exp=w.exp, seed=fresh_seeds(w.exp)),
        code=experiment_sources,
    output:
        metrics="results/audit/{exp}.json",
    params:
        cfg=audit_json,
        seeds=lambda w: ",".join(map(str, fresh_seeds(w.exp))),
    log:
        "results/logs/audit/{exp}.log",
    benchmark:
        "results/benchmarks/audit/{exp}.tsv"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        ENV
    shell:
        f"{THREAD_ENV} "
        "python -m companion metrics {wildcards.exp} --cfg {params.cfg:q} --runs {input.runs} "
        "--out {output.metrics} > {log} 2>&1"


rule claims_table:
    message:
        "claims table: every experiment's verdicts in one TSV"
    input:
        metrics=expand(rules.metrics.output.metrics, exp=EXPS),
        code=f"{SRC}/table.py",
    output:
        table="results/metrics.tsv",
    log:
        "results/logs/claims_table.log",
    benchmark:
        "results/benchmarks/claims_table/all.tsv"
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    conda:
        ENV
    shell:
        "python -m companion table --metrics {input.metrics} --out {output.table} > {log} 2>&1"
