"""``python -m companion bench``: the batched engine against a per-model loop, and its FLOP rate.

Three measurements in one run, on one device with an explicit thread count:

1. The same training work two ways: E two-layer ReLU nets trained for T full-batch gradient
   steps on the squared loss, (a) as one :class:`~companion.nn.ensemble.MLPEnsemble` through
   :func:`companion.nn.train.fit` (closed-form gradients, and once more with autograd), and (b) as
   a Python loop over E ``torch.nn.Sequential`` models with ``torch.optim.SGD``, starting from the
   same weights. Both reach the same losses (checked); the ratio of wall times is printed.
2. The achieved GFLOP/s of the largest matrix products of one training step, timed alone at the
   training shapes, next to the GFLOP/s of a large square float32 matrix product measured in the
   same run (the "peak"). FLOPs are counted explicitly: ``2 m k n`` per ``(m x k)(k x n)``
   product, per model.
3. With ``--sweep``: a geometric width sweep trained padded into one ensemble vs grouped by width
   (:mod:`companion.nn.sweep`), the measurement behind the engine's grouping default.

``--out FILE`` also writes every number as JSON.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

TARGET_RATIO = 10.0
TARGET_PEAK_FRACTION = 0.25


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m companion bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=64, help="models E (default 64)")
    p.add_argument("--width", type=int, default=64, help="hidden width M (default 64)")
    p.add_argument("--n", type=int, default=256, help="training points (default 256)")
    p.add_argument("--d", type=int, default=16, help="input dimension (default 16)")
    p.add_argument("--steps", type=int, default=200, help="gradient steps T (default 200)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    p.add_argument("--peak-size", type=int, default=2048,
                   help="side of the square matrices of the peak measurement (default 2048)")
    p.add_argument("--sweep", action="store_true",
                   help="also time a geometric width sweep padded vs grouped by width")
    p.add_argument("--out", help="write the numbers to this JSON file")
    return p


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best_time(fn: Callable[[], Any], device, repeats: int = 3, inner: int = 10) -> float:
    """The fastest of ``repeats`` timings of ``inner`` calls, per call, after a warm-up."""
    fn()
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        _sync(device)
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def step_kernels(models: int, n: int, d: int, width: int) -> list[dict[str, Any]]:
    """The matrix products of one closed-form training step of a two-layer ensemble
    (:mod:`companion.nn.backprop`), with their FLOPs: 2 m k n per model and product."""
    e, m = models, width
    return [
        {"name": "forward x W1", "shape": f"{e} x ({n}x{d})({d}x{m})", "flops": 2 * e * n * d * m},
        {"name": "forward a^T h^T", "shape": f"{e} x (1x{m})({m}x{n})", "flops": 2 * e * n * m},
        {"name": "grad a = g^T h", "shape": f"{e} x (1x{n})({n}x{m})", "flops": 2 * e * n * m},
        {"name": "grad W1 = x^T G", "shape": f"{e} x ({d}x{n})({n}x{m})",
         "flops": 2 * e * n * d * m},
    ]


def _time_kernels(models: int, n: int, d: int, width: int, device, dtype) -> list[dict[str, Any]]:
    import torch

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=gen, dtype=dtype).to(device)
    w1 = torch.randn(models, d, width, generator=gen, dtype=dtype).to(device)
    h = torch.randn(models, n, width, generator=gen, dtype=dtype).to(device)
    a = torch.randn(models, 1, width, generator=gen, dtype=dtype).to(device)
    g = torch.randn(models, 1, n, generator=gen, dtype=dtype).to(device)
    # The same calls as companion.nn.backprop makes (products as row vectors there).
    calls = [
        lambda: torch.matmul(x, w1),
        lambda: torch.matmul(a, h.transpose(1, 2)),
        lambda: torch.matmul(g, h),
        lambda: torch.matmul(x.transpose(-1, -2), h),
    ]
    kernels = step_kernels(models, n, d, width)
    for kernel, call in zip(kernels, calls, strict=True):
        seconds = _best_time(call, device, repeats=5, inner=20)
        kernel.update(seconds=seconds, gflops=kernel["flops"] / seconds / 1e9)
    return kernels


def _peak(size: int, device, dtype) -> float:
    import torch

    gen = torch.Generator().manual_seed(1)
    a = torch.randn(size, size, generator=gen, dtype=dtype).to(device)
    b = torch.randn(size, size, generator=gen, dtype=dtype).to(device)
    seconds = _best_time(lambda: torch.mm(a, b), device, repeats=5, inner=3)
    return 2.0 * size**3 / seconds / 1e9


def _data(n: int, d: int, device, dtype):
    import torch

    gen = torch.Generator().manual_seed(2)
    # Rows of norm about 1, so one step size (0.2) is stable for every d and width tried.
    x = torch.randn(n, d, generator=gen, dtype=dtype) / d**0.5
    y = torch.tanh(4.0 * x[:, 0] + 2.0 * x[:, 1])
    return x.to(device), y.to(device)


def _batched(models: int, width: int, x, y, steps: int, lr: float, closed_form: bool,
             device, dtype) -> tuple[float, Any]:
    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.train import fit

    def run():
        model = MLPEnsemble(x.shape[1], [width] * models, parameterisation="standard", seed=3,
                            device=device, dtype=dtype)
        return fit(model, x, y, steps=steps, lr=lr, record_at=[0, steps],
                   closed_form=closed_form)

    run()  # warm-up (allocations, kernel selection)
    _sync(device)
    start = time.perf_counter()
    hist = run()
    _sync(device)
    return time.perf_counter() - start, hist.loss[-1]


def _loop(models: int, width: int, x, y, steps: int, lr: float, device, dtype):
    """Each model alone: torch.nn.Sequential, torch.optim.SGD, autograd, one step at a time."""
    import torch

    from companion.nn.ensemble import MLPEnsemble

    ensemble = MLPEnsemble(x.shape[1], [width] * models, parameterisation="standard", seed=3,
                           device=device, dtype=dtype)
    modules = [ensemble.torch_module(e) for e in range(models)]
    warm = ensemble.torch_module(0)  # warm-up on a copy, as the batched run gets one
    warm_opt = torch.optim.SGD(warm.parameters(), lr=lr)
    for _ in range(3):
        warm_opt.zero_grad(set_to_none=True)
        (0.5 * (warm(x).squeeze(-1) - y).pow(2).mean()).backward()
        warm_opt.step()
    final = []
    _sync(device)
    start = time.perf_counter()
    for module in modules:
        opt = torch.optim.SGD(module.parameters(), lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = 0.5 * (module(x).squeeze(-1) - y).pow(2).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            final.append(float(0.5 * (module(x).squeeze(-1) - y).pow(2).mean()))
    _sync(device)
    return time.perf_counter() - start, final


def _sweep(device, dtype, steps: int = 100, per_width: int = 8) -> dict[str, Any]:
    """Widths 64..4096 (factor 2), ``per_width`` models each: padded into one ensemble vs one
    ensemble per width."""
    import numpy as np

    from companion.nn.ensemble import MLPEnsemble
    from companion.nn.sweep import plan_groups
    from companion.nn.train import fit

    x, y = _data(64, 10, device, dtype)
    widths = np.repeat(2 ** np.arange(6, 13), per_width)
    out = {"widths": sorted(set(widths.tolist())), "models_per_width": per_width, "steps": steps}
    for label, waste in (("padded", float("inf")), ("grouped", 1.0)):
        groups = plan_groups(widths, max_waste=waste)

        def run(groups=groups):
            for g in groups:
                model = MLPEnsemble(10, widths[g], parameterisation="ntk", seed=0, device=device,
                                    dtype=dtype)
                fit(model, x, y, steps=steps, lr=0.5, record_at=[0, steps])

        run()
        _sync(device)
        start = time.perf_counter()
        run()
        _sync(device)
        out[f"{label}_s"] = time.perf_counter() - start
        out[f"{label}_ensembles"] = len(groups)
    out["padded_over_grouped"] = out["padded_s"] / out["grouped_s"]
    return out


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of the module docstring; returns the numbers."""
    import numpy as np
    import torch

    from companion.device import resolve_device, set_threads
    from companion.io import library_versions

    set_threads(args.threads)
    device = resolve_device(args.device)
    dtype = torch.float32
    x, y = _data(args.n, args.d, device, dtype)
    lr = 0.2
    e, m, steps = args.models, args.width, args.steps

    batched_s, batched_loss = _batched(e, m, x, y, steps, lr, True, device, dtype)
    autograd_s, autograd_loss = _batched(e, m, x, y, steps, lr, False, device, dtype)
    loop_s, loop_loss = _loop(e, m, x, y, steps, lr, device, dtype)
    diff = float(np.max(np.abs(np.asarray(batched_loss) - np.asarray(loop_loss))
                        / np.maximum(np.abs(loop_loss), 1e-12)))

    # Peak and kernels interleaved, best of each: a busy machine slows one measurement at a time,
    # and a peak measured in a slow moment made a kernel look faster than the peak.
    peak = _peak(args.peak_size, device, dtype)
    kernels = _time_kernels(e, args.n, args.d, m, device, dtype)
    peak = max(peak, _peak(args.peak_size, device, dtype))
    for kernel in _time_kernels(e, args.n, args.d, m, device, dtype):
        best = next(k for k in kernels if k["name"] == kernel["name"])
        if kernel["seconds"] < best["seconds"]:
            best.update(kernel)
    peak = max(peak, _peak(args.peak_size, device, dtype))
    top = max(k["flops"] for k in kernels)
    largest = [k for k in kernels if k["flops"] == top]
    largest_gflops = sum(k["flops"] for k in largest) / sum(k["seconds"] for k in largest) / 1e9
    step_flops = sum(k["flops"] for k in step_kernels(e, args.n, args.d, m))

    result: dict[str, Any] = {
        "device": str(device),
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else _cpu_name()),
        "threads": args.threads,
        "workload": {"models": e, "width": m, "n": args.n, "d": args.d, "steps": steps,
                     "depth": 1, "activation": "relu", "loss": "squared", "optimiser": "gd",
                     "dtype": "float32"},
        "batched_s": batched_s,
        "batched_autograd_s": autograd_s,
        "loop_s": loop_s,
        "ratio": loop_s / batched_s,
        "ratio_autograd": loop_s / autograd_s,
        "max_final_loss_rel_diff": diff,
        "autograd_vs_closed_form_loss_diff": float(np.max(np.abs(
            np.asarray(batched_loss) - np.asarray(autograd_loss)))),
        "peak_gflops": peak,
        "peak_size": args.peak_size,
        "kernels": kernels,
        "largest_kernels": [k["name"] for k in largest],
        "largest_kernel_gflops": largest_gflops,
        "largest_kernel_peak_fraction": largest_gflops / peak,
        # Above 1 the peak was measured slower than a kernel: not a result, a bad measurement.
        "peak_fraction_reliable": bool(largest_gflops / peak <= 1.0),
        "step_matmul_flops": step_flops,
        "training_gflops": step_flops * steps / batched_s / 1e9,
        "targets": {"ratio": TARGET_RATIO, "peak_fraction": TARGET_PEAK_FRACTION},
        "versions": library_versions(),
    }
    if args.sweep:
        result["sweep"] = _sweep(device, dtype)
    return result


def report(result: dict[str, Any]) -> str:
    """The numbers as a short text table."""
    w = result["workload"]
    ok = lambda good: "meets target" if good else "BELOW target"  # noqa: E731
    lines = [
        f"device {result['device']} ({result['device_name']}), {result['threads']} thread(s)",
        f"work: {w['models']} two-layer ReLU nets, d={w['d']} -> M={w['width']} -> 1, "
        f"n={w['n']}, {w['steps']} full-batch GD steps, {w['dtype']}",
        f"  batched (closed-form gradients): {result['batched_s']:8.3f} s",
        f"  batched (autograd):              {result['batched_autograd_s']:8.3f} s",
        f"  per-model loop (torch.nn + SGD): {result['loop_s']:8.3f} s",
        f"  ratio loop / batched: {result['ratio']:.1f}x (autograd: "
        f"{result['ratio_autograd']:.1f}x); target >= {TARGET_RATIO:g}x: "
        f"{ok(result['ratio'] >= TARGET_RATIO)}",
        f"  same losses: max relative difference {result['max_final_loss_rel_diff']:.2e}",
        "kernels of one training step (timed alone at the training shapes):",
    ]
    for k in result["kernels"]:
        lines.append(f"  {k['name']:<18} {k['shape']:<26} {k['flops'] / 1e6:9.2f} MFLOP "
                     f"{k['gflops']:8.2f} GFLOP/s")
    frac = result["largest_kernel_peak_fraction"]
    lines += [
        f"  matmul peak ({result['peak_size']}^2 float32 mm): {result['peak_gflops']:.2f} GFLOP/s",
        f"  largest kernel(s) ({', '.join(result['largest_kernels'])}): "
        f"{result['largest_kernel_gflops']:.2f} GFLOP/s = {100 * frac:.0f}% of peak; target "
        f">= {100 * TARGET_PEAK_FRACTION:.0f}%: "
        + (ok(frac >= TARGET_PEAK_FRACTION) if frac <= 1.0
           else "unreliable measurement (above 100%: the peak was measured too slow)"),
        f"  whole training run: {result['training_gflops']:.2f} GFLOP/s of matmul work",
    ]
    if "sweep" in result:
        s = result["sweep"]
        lines.append(f"sweep M = {s['widths'][0]}..{s['widths'][-1]} x {s['models_per_width']} "
                     f"models, {s['steps']} steps: padded into {s['padded_ensembles']} ensemble "
                     f"{s['padded_s']:.2f} s, grouped into {s['grouped_ensembles']} ensembles "
                     f"{s['grouped_s']:.2f} s (padded/grouped {s['padded_over_grouped']:.2f})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the table, write ``--out`` if given."""
    argv = list(argv or [])
    if argv[:1] == ["--"]:  # ``python -m companion bench -- --models 8``: the separator stays
        argv = argv[1:]
    args = _parser().parse_args(argv)
    result = run_benchmark(args)
    print(report(result))
    if args.out:
        from companion.io import write_json

        write_json(args.out, result)
        print(f"wrote {args.out}")
    return 0
