"""Compare benchmark results across versions: one row per setting, its latest figures against earlier ones.

  python bench/compare.py                          # every setting with more than one record
  python bench/compare.py --all                    # every setting
  python bench/compare.py --bench dc_timing step_times --method dc

A setting is (bench, method, dataset, ipc, protocol, budgeted); records come from bench/results.jsonl in the
order they were written. Prints a markdown table: latest accuracy and s / iteration, the previous record's, and
the change, with the version / commit / date of each.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.jsonl"
SETTING = ("bench", "method", "dataset", "ipc", "protocol", "budgeted")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def delta(new: float | None, old: float | None) -> str:
    if new is None or old is None:
        return "-"
    return f"{new - old:+.2f}"


def table(records: list[dict], show_all: bool) -> str:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(tuple(r.get(k) for k in SETTING), []).append(r)
    rows = ["| bench | method | dataset | ipc | protocol | budgeted | acc | prev acc | change | s/iter | "
            "prev s/iter | change | records | latest (version, commit, date) |",
            "| " + " | ".join(["---"] * 14) + " |"]
    for key, rs in groups.items():
        if len(rs) < 2 and not show_all:
            continue
        new, old = rs[-1], (rs[-2] if len(rs) > 1 else {})
        where = f"{new.get('version') or '?'}, {new.get('commit') or '?'}, {new.get('date') or '?'}"
        rows.append("| " + " | ".join(str(k) for k in key) + " | "
                    f"{fmt(new.get('acc_mean'))} | {fmt(old.get('acc_mean'))} | "
                    f"{delta(new.get('acc_mean'), old.get('acc_mean'))} | {fmt(new.get('s_per_iter'), 3)} | "
                    f"{fmt(old.get('s_per_iter'), 3)} | {delta(new.get('s_per_iter'), old.get('s_per_iter'))} | "
                    f"{len(rs)} | {where} |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--file", type=Path, default=RESULTS)
    p.add_argument("--bench", nargs="*", default=None)
    p.add_argument("--method", nargs="*", default=None)
    p.add_argument("--all", action="store_true", help="also settings measured once")
    args = p.parse_args()
    records = load(args.file)
    if args.bench:
        records = [r for r in records if r.get("bench") in args.bench]
    if args.method:
        records = [r for r in records if r.get("method") in args.method]
    print(table(records, args.all))


if __name__ == "__main__":
    main()
