"""Render bench/results.json as bench/RESULTS.md with two plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown"


def _goal(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def _fmt(x: Any, spec: str = ".2f") -> str:
    return "n/a" if x is None else format(x, spec)


def write(results: dict[str, Any], out: Path) -> None:
    lines = ["# dlweek benchmarks", "",
             f"Machine: {results.get('machine', {}).get('cpus')} cores, "
             f"{results.get('machine', {}).get('processor')}; "
             f"run {results.get('machine', {}).get('date')}. Command: `make bench` "
             "(or `make bench ONLY=serving`). Competitors alternate (A B A B); figures are "
             "medians with min–max over repetitions. Raw data: `bench/results.json`.", ""]
    if "training" in results:
        lines += _training(results["training"], out)
    if "serving" in results:
        lines += _serving(results["serving"], out)
    if "backends" in results:
        lines += _backends(results["backends"])
    if "course" in results:
        lines += _course(results["course"])
    (out / "RESULTS.md").write_text("\n".join(lines) + "\n")


def _training(t: dict[str, Any], out: Path) -> list[str]:
    sp, speedup = t.get("speedup_spread") or {}, t["speedup_to_baseline_acc"]
    rows = ["## Training: time to the keras-io convnet's final accuracy (full Fashion-MNIST)", "",
            "| | keras-io convnet | dlweek Day 4 |", "|---|---|---|",
            f"| parameters | {t['baseline_params']:,} | {t['dlweek_params']:,} |",
            f"| final test accuracy | {t['baseline_final_test_acc']:.4f} | "
            f"{t['dlweek_final_test_acc']:.4f} |",
            f"| training s to {t['target_accuracy']:.4f} | "
            f"{', '.join(_fmt(s, '.1f') for s in t['seconds_to_target']['baseline'])} | "
            f"{', '.join(_fmt(s, '.1f') for s in t['seconds_to_target']['dlweek'])} |",
            f"| samples/s (median) | {t['samples_per_second']['baseline']['median']:.0f} | "
            f"{t['samples_per_second']['dlweek']['median']:.0f} |",
            f"| achieved training GFLOP/s | {t['train_gflops_achieved']['baseline']:.1f} | "
            f"{t['train_gflops_achieved']['dlweek']:.1f} |", "",
            f"**Speed-up to the baseline's final accuracy: {_fmt(speedup)}×** "
            f"(min {_fmt(sp.get('min'))}, max {_fmt(sp.get('max'))}); goal ≥ 3×: "
            f"{_goal(None if speedup is None else speedup >= 3)}. dlweek final accuracy "
            f"goal ≥ 0.93: {_goal(t['dlweek_final_test_acc'] >= 0.93)}.", "",
            f"Peak: {t['peak_gflops']['gflops']:.0f} GFLOP/s ({t['peak_gflops']['method']}). "
            "Training FLOPs per sample = 3 × forward multiply-adds × 2 over Conv2D and Dense "
            f"layers; achieved = that × samples/s (baseline {t['fraction_of_peak']['baseline']:.1%}"
            f" of peak, dlweek {t['fraction_of_peak']['dlweek']:.1%}).", "",
            "![time to accuracy](training.png)", ""]
    _plot_training(t, out / "training.png")
    return rows


def _plot_training(t: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    for key, color in (("baseline", "tab:gray"), ("dlweek", "tab:blue")):
        for i, r in enumerate(t["runs"][key]):
            ax.plot(r["cumulative_train_seconds"], r["test_accuracy"], "o-", color=color,
                    alpha=0.8, ms=3, label=r["name"] if i == 0 else None)
    ax.axhline(t["target_accuracy"], ls="--", color="k", lw=0.8, label="baseline final")
    ax.set(xlabel="training seconds", ylabel="test accuracy", ylim=(0.8, 0.95),
           title="Fashion-MNIST: test accuracy vs training time")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _serving(s: dict[str, Any], out: Path) -> list[str]:
    rows = ["## Serving: same bundle, naive Flask demo vs `dlweek serve`", "",
            f"Bundle `{s['bundle']}`; raw in-process limit "
            f"{s['raw_limit']['images_per_second']:.0f} images/s at batch "
            f"{s['raw_limit']['best_batch']}. Time from process start to ready: dlweek "
            f"{s['ready_seconds']:.1f} s (naive {s['ready_seconds_naive']:.1f} s).", "",
            "| server | concurrency | req/s (min–max) | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|---|"]
    for key in ("naive", "dlweek"):
        for c, r in sorted(s["table"][key].items(), key=lambda kv: int(kv[0])):
            rows.append(f"| {key} | {c} | {r['rps']:.1f} ({r['rps_spread']['min']:.1f}–"
                        f"{r['rps_spread']['max']:.1f}) | {r['p50']:.0f} | {r['p95']:.0f} | "
                        f"{r['p99']:.0f} | {r['errors']} |")
    rows += ["", f"At concurrency 16: **{s['throughput_ratio_vs_naive_c16']:.1f}× the naive "
             f"throughput** (goal ≥ 5×: {_goal(s['throughput_ratio_vs_naive_c16'] >= 5)}), "
             f"**{s['fraction_of_raw_c16']:.0%} of the raw limit** (goal ≥ 80%: "
             f"{_goal(s['fraction_of_raw_c16'] >= 0.8)}), p99/p50 = "
             f"{s['p99_over_p50_c16']:.2f} (goal ≤ 3: {_goal(s['p99_over_p50_c16'] <= 3)}), "
             f"errors {s['errors']} (goal 0: {_goal(s['errors'] == 0)}).", "",
             *_cpu_budget(s), "![serving throughput](serving.png)", ""]
    _plot_serving(s, out / "serving.png")
    return rows


def _cpu_budget(s: dict[str, Any]) -> list[str]:
    """Where the CPU went at concurrency 16, and the ceiling that puts on throughput."""
    cpu = s.get("cpu_c16") or {}
    if not cpu.get("cpu_bound_rps"):
        return []
    return [f"Where the CPU goes at concurrency 16 ({cpu['cores']} cores, everything on the same "
            f"machine): the dlweek server spends **{cpu['server_ms_per_request']:.1f} ms of CPU "
            f"per request** (the model alone needs {cpu['model_ms_per_image_at_limit']:.1f} "
            f"CPU-ms per image at its best batch; decoding and resizing the JPEG "
            f"{cpu['decode_ms_per_image']:.1f} ms; the rest is HTTP, JSON and batching), the "
            f"load generator {cpu['client_ms_per_request']:.1f} ms. With every core busy that "
            f"caps the service at **{cpu['cpu_bound_rps']:.0f} req/s = "
            f"{cpu['cpu_bound_fraction_of_raw']:.0%} of the raw model limit** on this machine. "
            "Even a server with free HTTP and a free client, paying only the forward pass "
            f"and the decode, would top out at {cpu['model_and_decode_bound_rps']:.0f} req/s "
            f"({cpu['model_and_decode_bound_rps'] / s['raw_limit']['images_per_second']:.0%}): "
            "the raw limit counts the forward pass alone, with nothing else sharing the "
            "cores.", ""]


def _plot_serving(s: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    conc = sorted(s["table"]["dlweek"], key=int)
    width = 0.38
    for i, (key, color) in enumerate((("naive", "tab:gray"), ("dlweek", "tab:blue"))):
        ax.bar([j + (i - 0.5) * width for j in range(len(conc))],
               [s["table"][key][c]["rps"] for c in conc], width, color=color, label=key)
    ax.axhline(s["raw_limit"]["images_per_second"], ls="--", color="k", lw=0.8,
               label="raw model limit")
    ax.set_xticks(range(len(conc)), [f"c={c}" for c in conc])
    ax.set(ylabel="requests/s", title="Throughput by concurrency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _backends(b: dict[str, Any]) -> list[str]:
    rows = ["## Keras backends (informative): Day 4 model, seconds per full epoch", "",
            "| backend | s/epoch | note |", "|---|---|---|"]
    for name, r in b.items():
        if name == "bench_seconds":
            continue
        if "seconds_per_epoch" in r:
            rows.append(f"| {name} | {r['seconds_per_epoch']:.1f} | |")
        else:
            rows.append(f"| {name} | — | {r.get('skipped') or r.get('error')} |")
    return [*rows, ""]


def _course(c: dict[str, Any]) -> list[str]:
    rows = ["## Course", "", f"Quick nbval suite: **{c['nbval_quick_seconds']:.0f} s** "
            f"(failed: {', '.join(c['failed']) or 'none'}).", "",
            "| notebook | quick nbval s | full course s |", "|---|---|---|"]
    full = (c.get("full_course") or {}).get("per_notebook", {})
    for nb, sec in c["per_notebook"].items():
        rows.append(f"| {nb} | {sec:.0f} | {_fmt(full.get(nb), '.0f')} |")
    if c.get("full_course"):
        rows.append(f"\nFull course (last `make course`): "
                    f"{c['full_course'].get('total_seconds', float('nan')):.0f} s.")
    else:
        rows.append("\nFull course: run `make course` first; its times are read from "
                    "build/course/summary.json.")
    return [*rows, ""]
