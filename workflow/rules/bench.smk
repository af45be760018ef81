# The training-engine benchmark (batched program vs per-model loop) for the report's appendix.


rule bench:
    message:
        "bench: batched engine vs per-model loop on {params.device}"
    input:
        code=[f"{SRC}/bench.py"] + sorted(glob(f"{SRC}/nn/*.py")),
    output:
        result="results/bench/engine.json",
    params:
        device=config["device"],
        options=" ".join(f"--{k.replace('_', '-')} {v}" for k, v in config["bench"].items()),
    log:
        "results/logs/bench/engine.log",
    benchmark:
        "results/benchmarks/bench/engine.tsv"
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=0 if config["device"] == "cpu" else res("train", "gpu", 0),
    conda:
        ENV
    shell:
        f"{THREAD_ENV} "
        "python -m companion bench {params.options} --device {params.device} "
        "--threads {threads} --out {output.result} > {log} 2>&1"
