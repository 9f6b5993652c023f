#!/usr/bin/env python3
"""jobs/sweep-table.py RUN_DIR...: Markdown table of the final metrics of finished runs.

  jobs/sweep-table.py results/ser-sweep-1234_*

One row per run directory, in task order: run, seed, lr, model, test accuracy, macro-F1,
epochs run, read from RUN_DIR/summary.json (written by `ser train` when a run finishes;
seed/lr/model from its "config"). Runs without summary.json are listed as not finished.
Standard library only. Exit status: 0, or 1 when no argument is a directory or a
summary.json cannot be read.
"""
import json
import os
import re
import sys


def natural(path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", os.path.basename(path.rstrip("/")))]


def main(argv):
    dirs = [d for d in argv if os.path.isdir(d)]
    for d in argv:
        if not os.path.isdir(d):
            print(f"sweep-table: warning: {d}: not a directory, ignored", file=sys.stderr)
    if not dirs:
        print("usage: sweep-table.py RUN_DIR...  (e.g. results/ser-sweep-1234_*)", file=sys.stderr)
        return 1
    rows, bad = [], 0
    for d in sorted(dirs, key=natural):
        name = os.path.basename(d.rstrip("/"))
        path = os.path.join(d, "summary.json")
        if not os.path.exists(path):
            rows.append(f"| {name} | | | | not finished | | |")
            continue
        try:
            with open(path) as f:
                s = json.load(f)
            c = s["config"]
            rows.append("| {} | {} | {:g} | `{}` | {:.4f} | {:.4f} | {} |".format(
                name, c["seed"], float(c["lr"]), c["model"], float(s["test_accuracy"]),
                float(s["test_macro_f1"]), s["epochs_run"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"sweep-table: error: {path}: {e.__class__.__name__}: {e}", file=sys.stderr)
            bad = 1
    print("| run | seed | lr | model | test accuracy | macro-F1 | epochs |")
    print("|---|---:|---:|---|---:|---:|---:|")
    print("\n".join(rows))
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
