"""Side-by-side timing for bench scripts: each side runs in a fresh child process, measured by the OS.

Peak RSS comes from ``os.wait4`` (the child's own ru_maxrss), wall time from the parent's clock, so
the project and the reference are measured the same way in the same run. Runs alternate A B A B to
spread the noise of a shared machine over both sides; medians are reported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# The installed `retail-lake` command beside this interpreter: benches time it as a user runs it.
CLI = Path(sys.executable).with_name("retail-lake")


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    output: dict


def run_child(module_args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``python -m ...``/``python file ...`` in a child; the child prints one JSON line at the end."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *module_args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(module_args)} failed ({proc.returncode}):\n{err[-3000:]}")
    last = [line for line in out.splitlines() if line.startswith("{")]
    return Run(seconds, usage.ru_maxrss / 1024, json.loads(last[-1]) if last else {})


def median_runs(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.seconds for r in runs),
        statistics.median(r.peak_rss_mb for r in runs),
        runs[-1].output,
    )


def alternate(a: list[str], b: list[str], repeat: int, env_a=None, env_b=None, say=print) -> tuple[Run, Run]:
    runs_a, runs_b = [], []
    for i in range(repeat):
        runs_a.append(run_child(a, env_a))
        say(f"  run {i + 1}/{repeat}: project {runs_a[-1].seconds:.2f}s {runs_a[-1].peak_rss_mb:.0f} MB", )
        runs_b.append(run_child(b, env_b))
        say(f"  run {i + 1}/{repeat}: reference {runs_b[-1].seconds:.2f}s {runs_b[-1].peak_rss_mb:.0f} MB")
    return median_runs(runs_a), median_runs(runs_b)
