"""Cohort benchmark: `kmt2a-cds assess` over a generated Bulk Data export of 10,000 patients.

    .venv/bin/python bench/cohort.py [--patients 10000] [--small 1000] [--workers N]

Measures, in one run and on the same machine:
- throughput: patients per second of `assess` on all cores over the large cohort, against the same command with
  one worker over the small cohort (the baseline: the ratio is the parallel speed-up);
- memory: peak RSS of the whole process tree (the command and its workers, sampled every 20 ms from /proc) on the
  large cohort, against the small one. Flat memory means the ratio stays near 1 although the cohort is 10x larger.

Writes bench/results/cohort.json (not committed), prints a table, exits 1 when memory is not flat (ratio > 1.5).
Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cds_service.devtools.synthetic import write_export  # noqa: E402

MEMORY_RATIO_LIMIT = 1.5
TODAY = "2026-11-29"


def tree_rss_kb(root: int) -> int:
    """Resident memory of `root` and all its descendants, in kB."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/status") as status:
                total += next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    stack += [int(c) for c in children.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_assess(export: Path, workers: int, out: Path) -> dict:
    """Run the command as a user would; returns wall time, patients and the peak RSS of its process tree."""
    command = [str(ROOT / ".venv" / "bin" / "kmt2a-cds"), "assess", str(export), "--today", TODAY,
               "--workers", str(workers), "-o", str(out), "--no-progress"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kb(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"assess failed: {stderr}")
    rows = sum(1 for _ in out.open(encoding="utf-8"))
    return {"patients": rows, "workers": workers, "seconds": round(elapsed, 2),
            "patients_per_s": round(rows / elapsed, 1), "peak_rss_mb": round(peak / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kmt2a-bench-cohort-") as tmp:
        base = Path(tmp)
        started = time.perf_counter()
        write_export(base / "large", args.patients)
        generated_s = time.perf_counter() - started
        write_export(base / "small", args.small)
        baseline = run_assess(base / "small", 1, base / "small-1.jsonl")
        small = run_assess(base / "small", args.workers, base / "small-n.jsonl")
        large = run_assess(base / "large", args.workers, base / "large-n.jsonl")
    results = {
        "generated": {"patients": args.patients, "seconds": round(generated_s, 2)},
        "baseline_small_one_worker": baseline, "small_all_workers": small, "large_all_workers": large,
        "ratios": {"throughput_large_vs_baseline": round(large["patients_per_s"] / baseline["patients_per_s"], 2),
                   "memory_large_vs_small": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2)},
    }
    results["memory_flat"] = results["ratios"]["memory_large_vs_small"] <= MEMORY_RATIO_LIMIT
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cohort.json").write_text(json.dumps(results, indent=2))
    print(f"{'cohort run':<34}{'patients':>9}{'workers':>8}{'s':>8}{'patients/s':>12}{'peak RSS MB':>13}")
    for name in ("baseline_small_one_worker", "small_all_workers", "large_all_workers"):
        r = results[name]
        print(f"{name:<34}{r['patients']:>9}{r['workers']:>8}{r['seconds']:>8}{r['patients_per_s']:>12}"
              f"{r['peak_rss_mb']:>13}")
    print(f"throughput, large on all cores vs baseline: x{results['ratios']['throughput_large_vs_baseline']}")
    print(f"peak memory, {args.patients} vs {args.small} patients: x{results['ratios']['memory_large_vs_small']} "
          f"({'flat' if results['memory_flat'] else 'NOT flat'}: limit x{MEMORY_RATIO_LIMIT})")
    return 0 if results["memory_flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
