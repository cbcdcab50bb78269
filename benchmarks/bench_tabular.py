"""Synthetic tables head to head: ganforge's tabular GAN against the ``ctgan`` package on UCI Adult.

Both tools train on ``adult.data`` (32,561 rows) and sample as many rows; every synthetic table is
scored by the same code (:func:`ganforge.tabular.evaluate.evaluate`) against the same rows:
quality, column shapes and column-pair trends (SDMetrics' Quality Report definitions), the F1 of
``>50K`` of classifiers trained on the synthetic rows and tested on ``adult.test`` (16,281 rows)
beside the same classifiers trained on the real rows, the distance to closest record and the
exact copies of training rows. Each fit runs in its own subprocess, with one thread, so its
training time and its peak memory (the process's maximum resident set size) are its own; the
two tools of one seed run side by side, so their timings are taken under the same load.

Settings: ``--epochs`` (default 300, CTGAN's default) for both tools, or ``--budget-s B``: an
equal wall-clock budget, set-up included: each tool trains whole epochs until the next one would
end past B seconds from the start of its fit (ctgan: its epoch loop is stopped between epochs;
ganforge: chunks of epochs, each resuming the last chunk's checkpoint, so the checkpoint and
resume costs count against ganforge). Results go to ``--results`` (one JSON line per fit and evaluation), and
``--table`` prints every line there as a table.

The reference tool and the metric package are not ganforge dependencies; install them into the
environment for the benchmark only (neither changes torch):

    pip install ctgan          # the reference tool (CTGAN, Xu et al. 2019)
    pip install sdmetrics      # only for --check-sdmetrics: the same report computed by SDMetrics

Run it from a clean export of a commit when others are editing the tree, e.g.
``git archive HEAD src benchmarks | tar -x -C /tmp/snap && git rev-parse --short HEAD >
/tmp/snap/COMMIT``, then ``cd /tmp/snap && PYTHONPATH=src python benchmarks/bench_tabular.py
--results ...``: the fits run the snapshot's code (``PYTHONPATH=ROOT/src``) and each result
names its commit.

Examples (the data from $GANFORGE_DATA or `ganforge data fetch adult`):

    OMP_NUM_THREADS=1 python benchmarks/bench_tabular.py --seeds 0 --epochs 300
    OMP_NUM_THREADS=1 python benchmarks/bench_tabular.py --seeds 0 --budget-s 600
    python benchmarks/bench_tabular.py --table
    python benchmarks/bench_tabular.py --check-sdmetrics   # ganforge's report against SDMetrics' on Adult
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("ganforge", "ctgan")
DEFAULT_RESULTS = ROOT / "runs" / "bench_tabular" / "results.jsonl"


# ------------------------------------------------------------------------------ one fit (subprocess)


def _peak_rss_mb() -> float:
    """This process's maximum resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s() -> float:
    """CPU seconds this process has used (user + system): on a shared machine, the fit's real cost."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Deadline:
    """Stops a training loop between epochs once the next epoch would end past ``budget_s``."""

    def __init__(self, budget_s: float):
        self.start = time.perf_counter()
        self.end = self.start + budget_s
        self.epochs = 0
        self.last_epoch_s = 0.0

    def another(self, epoch_s: float) -> bool:
        """True when one more epoch of ``epoch_s`` seconds still ends within the budget."""
        return time.perf_counter() + epoch_s <= self.end


def _ctgan_epochs(deadline: _Deadline):
    """A stand-in for the tqdm over ctgan's epochs that ends the loop at the deadline."""
    def epochs(iterable, **kwargs):
        for i in iterable:
            if i > 0 and not deadline.another(deadline.last_epoch_s):
                return
            t = time.perf_counter()
            yield i
            deadline.last_epoch_s = time.perf_counter() - t  # the loop body ran before the next pull
            deadline.epochs = i + 1

    class _Quiet:  # tqdm's set_description, called when verbose
        def __init__(self, iterable, **kwargs):
            self.it = epochs(iterable)

        def __iter__(self):
            return self.it

        def set_description(self, *a, **k):
            pass

    return _Quiet


def _fit_ganforge(train, out: Path, seed: int, epochs: int, budget_s: float):
    """ganforge's fit for ``epochs`` epochs, or in chunks until ``budget_s`` is spent: each chunk
    resumes the last one's checkpoint (bit-exact), sized by the speed the previous chunk showed."""
    from ganforge.tabular import fit
    from ganforge.tabular.adult import ADULT_TARGET

    if not budget_s:
        return fit(train, out, target=ADULT_TARGET, epochs=epochs, seed=seed, overwrite=True, verbose=False), epochs
    deadline = _Deadline(budget_s)
    done, chunk = 0, 2  # the first chunk also pays for fitting the transformer
    while True:
        t = time.perf_counter()
        if done == 0:
            run = fit(train, out, target=ADULT_TARGET, epochs=chunk, seed=seed, overwrite=True, verbose=False)
        else:
            run = fit(train, out, epochs=done + chunk, resume=True, verbose=False)
        done += chunk
        per_epoch = (time.perf_counter() - t) / chunk
        chunk = int((deadline.end - time.perf_counter()) / per_epoch)
        if chunk < 1:
            return run, done


def worker(tool: str, seed: int, epochs: int, budget_s: float, out: Path, data_dir: str | None) -> None:
    """Fit ``tool`` on Adult's training rows for ``epochs`` epochs (or for ``budget_s`` seconds),
    sample as many rows, and write ``out/synth.csv`` and ``out/fit.json`` (times, epochs, and the
    process's peak memory)."""
    import torch

    torch.set_num_threads(1)
    from ganforge.tabular.adult import ADULT_CONTINUOUS, load_adult

    train = load_adult("train", data_dir)
    out.mkdir(parents=True, exist_ok=True)
    start, cpu_start = time.perf_counter(), _cpu_s()
    if tool == "ganforge":
        from ganforge.tabular import sample

        run, epochs = _fit_ganforge(train, out / "run", seed, epochs, budget_s)
        train_s, train_cpu_s = time.perf_counter() - start, _cpu_s() - cpu_start
        start = time.perf_counter()
        synth = sample(run, len(train), seed=seed)
    elif tool == "ctgan":
        import ctgan.synthesizers.ctgan as ctgan_module
        from ctgan import CTGAN

        deadline = None
        if budget_s:
            deadline = _Deadline(budget_s)
            ctgan_module.tqdm = _ctgan_epochs(deadline)
        model = CTGAN(epochs=epochs if not budget_s else 10**6, enable_gpu=False)
        model.set_random_state(seed)
        discrete = [c for c in train.columns if c not in ADULT_CONTINUOUS]
        model.fit(train, discrete_columns=discrete)
        train_s, train_cpu_s = time.perf_counter() - start, _cpu_s() - cpu_start
        epochs = deadline.epochs if deadline else epochs
        start = time.perf_counter()
        synth = model.sample(len(train))
    else:
        raise SystemExit(f"unknown tool {tool!r}; tools: {', '.join(TOOLS)}")
    sample_s = time.perf_counter() - start
    synth.to_csv(out / "synth.csv", index=False)
    info = {"tool": tool, "seed": seed, "epochs": epochs, "budget_s": budget_s, "train_s": train_s,
            "train_cpu_s": train_cpu_s,
            "sample_s": sample_s, "peak_rss_mb": _peak_rss_mb(), "rows": len(synth)}
    (out / "fit.json").write_text(json.dumps(info) + "\n")


def _launch(tool: str, seed: int, epochs: int, budget_s: float, out: Path, data_dir: str | None) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--worker", tool, "--seed", str(seed), "--epochs", str(epochs),
           "--budget-s", str(budget_s), "--out", str(out)]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".log"), "w") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


# ---------------------------------------------------------------------------------- the comparison


def _read_results(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _fit_pair(tools, seed: int, epochs: int, budget_s: float, work: Path, data_dir) -> dict[str, dict]:
    """Fit every tool of ``tools`` for one seed side by side; their fit.json contents."""
    procs = {}
    for tool in tools:
        out = work / (f"{tool}-seed{seed}-" + (f"b{budget_s:g}" if budget_s else f"e{epochs}"))
        procs[tool] = (_launch(tool, seed, epochs, budget_s, out, data_dir), out)
    fits = {}
    for tool, (proc, out) in procs.items():
        if proc.wait() != 0:
            raise SystemExit(f"{tool} seed {seed} failed; see {out.with_suffix('.log')}")
        fits[tool] = {**json.loads((out / "fit.json").read_text()), "dir": str(out)}
    return fits


def _commit() -> str:
    """The ganforge commit measured: ROOT/COMMIT in an exported snapshot, else git's HEAD (with
    "+changes" when the tabular code in the working tree differs from it)."""
    if (ROOT / "COMMIT").is_file():
        return (ROOT / "COMMIT").read_text().strip()

    def git(*a):
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    dirty = git("status", "--porcelain", "--", "src/ganforge/tabular", "src/ganforge/games/tabular.py",
                "src/ganforge/nets/tabular.py")
    return git("rev-parse", "--short", "HEAD") + ("+changes" if dirty else "")


def compare(args) -> None:
    import pandas as pd

    from ganforge.fileio import append_json_line
    from ganforge.tabular.adult import ADULT_TARGET, load_adult
    from ganforge.tabular.efficacy import (
        DEFAULT_MODELS,
        efficacy,
        positive_class,
        train_and_test,
    )
    from ganforge.tabular.evaluate import evaluate, resolve_metadata
    from ganforge.tabular.prepare import normalise

    results_path = Path(args.results)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    work = results_path.parent
    real, test = load_adult("train", args.data_dir), load_adult("test", args.data_dir)
    kinds, formats = resolve_metadata(real, None, ADULT_TARGET)
    real_n, test_n = normalise(real, kinds, formats), normalise(test, kinds, formats)
    # the real-data classifiers are the same for every synthetic table: fitted once
    real_scores = train_and_test(real_n, test_n, ADULT_TARGET, kinds, positive_class(real_n[ADULT_TARGET]),
                                 DEFAULT_MODELS, seed=0)
    tools = [t for t in args.tools.split(",") if t]
    for seed in [int(s) for s in args.seeds.split(",")]:
        setting = f"budget {args.budget_s:g} s" if args.budget_s else f"{args.epochs} epochs"
        fits = _fit_pair(tools, seed, args.epochs, args.budget_s, work, args.data_dir)
        for tool, fit in fits.items():
            synth = pd.read_csv(Path(fit["dir"]) / "synth.csv")
            start = time.perf_counter()
            res = evaluate(real, synth, test, None, {"columns": kinds}, seed=0)  # quality and privacy
            synth_n = normalise(synth, kinds, formats)
            eff = efficacy(real_n, synth_n, test_n, ADULT_TARGET, kinds, DEFAULT_MODELS, 0, real_scores)
            row = {"tool": tool, "seed": seed, "setting": setting, "epochs": fit["epochs"],
                   "train_s": fit["train_s"], "train_cpu_s": fit.get("train_cpu_s"), "sample_s": fit["sample_s"],
                   "peak_rss_mb": fit["peak_rss_mb"],
                   "quality": res["quality"]["quality"], "column_shapes": res["quality"]["column_shapes"],
                   "pair_trends": res["quality"]["column_pair_trends"],
                   "f1": eff["f1_synthetic"], "f1_real": eff["f1_real"],
                   "f1_by_model": {m: v["synthetic"]["f1"] for m, v in eff["models"].items()},
                   "accuracy": eff["accuracy_synthetic"],
                   "dcr_median": res["privacy"]["synthetic"]["median"],
                   "dcr_holdout_median": res["privacy"]["holdout"]["median"],
                   "exact_copies": res["privacy"]["exact_copies"],
                   "eval_s": time.perf_counter() - start, "threads": 1, "commit": _commit(),
                   "note": "two fits side by side on a shared 2-core machine"}
            append_json_line(results_path, row)
            print(_format([row]), flush=True)


# ---------------------------------------------------------------------------------------- output

_COLUMNS = (("tool", "{}"), ("seed", "{}"), ("setting", "{}"), ("epochs", "{}"), ("train_s", "{:.0f}"),
            ("train_cpu_s", "{:.0f}"),
            ("peak_rss_mb", "{:.0f}"), ("quality", "{:.4f}"), ("column_shapes", "{:.4f}"),
            ("pair_trends", "{:.4f}"), ("f1", "{:.4f}"), ("f1_real", "{:.4f}"), ("accuracy", "{:.4f}"),
            ("dcr_median", "{:.4f}"), ("dcr_holdout_median", "{:.4f}"), ("exact_copies", "{:.2%}"))


def _format(rows: list[dict]) -> str:
    def cell(row, key, fmt):
        value = row.get(key)
        return "-" if value is None else fmt.format(value)

    lines = ["| " + " | ".join(k for k, _ in _COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(cell(r, k, f) for k, f in _COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


_SUMMARY = ("epochs", "train_s", "train_cpu_s", "peak_rss_mb", "quality", "column_shapes", "pair_trends", "f1",
            "f1_real", "accuracy", "dcr_median", "exact_copies")


def _summary(rows: list[dict]) -> str:
    """Mean and standard deviation over seeds of every figure, per tool and setting."""
    import numpy as np

    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["setting"], r["tool"]), []).append(r)
    lines = ["| setting | tool | seeds | " + " | ".join(_SUMMARY) + " |", "|" + "---|" * (len(_SUMMARY) + 3)]
    for (setting, tool), group in sorted(groups.items()):
        cells = []
        for key in _SUMMARY:
            values = np.array([r[key] for r in group if r.get(key) is not None], dtype=float)
            if not len(values):
                cells.append("-")
            elif key in ("epochs", "train_s", "train_cpu_s", "peak_rss_mb"):
                cells.append(f"{values.mean():.0f}")
            else:
                cells.append(f"{values.mean():.4f} ± {values.std():.4f}" if len(values) > 1 else f"{values.mean():.4f}")
        lines.append(f"| {setting} | {tool} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_sdmetrics(args) -> None:
    """ganforge's quality report against SDMetrics' on Adult (train vs test as the 'synthetic'
    table, and a copy with shuffled columns), in both pair-averaging modes."""
    import numpy as np
    from sdmetrics.reports.single_table import QualityReport  # the single-table report

    from ganforge.tabular.adult import ADULT_CONTINUOUS, load_adult
    from ganforge.tabular.quality import quality_report

    real, test = load_adult("train", args.data_dir), load_adult("test", args.data_dir)
    kinds = {c: ("integer" if c in ADULT_CONTINUOUS else "categorical") for c in real.columns}
    meta = {"columns": {c: {"sdtype": "numerical" if k == "integer" else "categorical"} for c, k in kinds.items()}}
    shuffled = test.copy()
    rng = np.random.default_rng(0)
    for c in ("age", "occupation", "hours-per-week"):
        shuffled[c] = rng.permutation(shuffled[c].to_numpy())
    for name, synth in (("adult.test", test), ("adult.test, 3 columns shuffled", shuffled)):
        for thresholds in ((0.0, 0.0), (0.5, 0.3)):
            ours = quality_report(real, synth, kinds, *thresholds)
            report = QualityReport()
            report.real_correlation_threshold, report.real_association_threshold = thresholds
            report.generate(real, synth, meta, verbose=False)
            props = report.get_properties().set_index("Property")["Score"]
            print(f"{name:32s} thresholds {thresholds}: quality {ours['quality']:.6f} vs SDMetrics "
                  f"{report.get_score():.6f}; shapes {ours['column_shapes']:.6f} vs {props['Column Shapes']:.6f}; "
                  f"pairs {ours['column_pair_trends']:.6f} vs {props['Column Pair Trends']:.6f}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, from ganforge, ctgan")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=300, help="epochs for both tools (CTGAN's default: 300)")
    p.add_argument("--budget-s", type=float, default=0.0, help="equal wall-clock budget per fit instead of --epochs")
    p.add_argument("--results", default=str(DEFAULT_RESULTS), help="JSON lines of results (appended)")
    p.add_argument("--data-dir", default=None, help="where adult/ is (default: the usual lookup)")
    p.add_argument("--table", action="store_true", help="print the results file as a table and stop")
    p.add_argument("--check-sdmetrics", action="store_true", help="compare the quality report with SDMetrics'")
    p.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.seed, args.epochs, args.budget_s, Path(args.out), args.data_dir)
    elif args.table:
        rows = _read_results(Path(args.results))
        print(_format(rows) + "\n\n" + _summary(rows))
    elif args.check_sdmetrics:
        check_sdmetrics(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
