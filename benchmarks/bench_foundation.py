"""Import time of tinyml_lib and the launch check's time per notebook.

Usage: .venv/bin/python benchmarks/bench_foundation.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def import_time(repeat: int) -> tuple[float, float, bool]:
    code = ("import time, sys; t = time.perf_counter(); import tinyml_lib; "
            "print(time.perf_counter() - t, 'tensorflow' in sys.modules)")
    times, tf = [], False
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
        times.append(float(out[0]))
        tf = tf or out[1] == "True"
    return statistics.median(times), min(times), tf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="import-time repetitions")
    args = parser.parse_args()
    os.environ.update({"TINYML_FAST": "1", "TINYML_OFFLINE": "1"})

    median, best, tf = import_time(args.repeat)
    print(f"import tinyml_lib: median {median * 1000:.1f} ms, best {best * 1000:.1f} ms "
          f"over {args.repeat} runs; TensorFlow imported: {'yes' if tf else 'no'}")

    from grading import check, project

    proj = project.load(ROOT)
    start = time.monotonic()
    rows = check.run_check(proj)
    total = time.monotonic() - start
    print()
    print(check.format_table(rows))
    notebooks = sum(r.seconds or 0 for r in rows if r.name.endswith(".ipynb"))
    print(f"\nlaunch check wall time: {total:.1f} s for {len(proj.notebooks)} notebook(s); "
          f"executing the notebooks alone: {notebooks:.1f} s "
          f"(launch check / plain execution = {total / notebooks:.2f}x)")


if __name__ == "__main__":
    main()
