#!/usr/bin/env python3
"""Scores leak scanners on the labeled corpus.

usage: score.py LABELS.tsv TOOL=FINDINGS.tsv...
Each FINDINGS.tsv holds `path<TAB>line[<TAB>end_line]` per finding (paths relative to the
corpus root); a tool that reports a multi-line match (gitleaks's Kubernetes-secret rule spans
`kind: Secret` to the data line) gives its end line too. A labeled secret is found when a
finding in its file spans its line; a finding that spans no labeled line is a false positive.
Several findings on one line count once.
Prints a markdown table: recall, precision, true/false positives, and the kinds missed.
"""
import csv
import os
import sys


def main():
    labels = {}
    with open(sys.argv[1]) as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            labels[(r["path"], int(r["line"]))] = r["kind"]
    kinds = sorted(set(labels.values()))
    print(f"corpus: {len(labels)} secrets of {len(kinds)} kinds\n")
    print("| tool | recall | precision | true pos. | false pos. | kinds missed entirely |")
    print("|---|---|---|---|---|---|")
    verbose = bool(os.environ.get("VERBOSE"))
    for arg in sys.argv[2:]:
        tool, path = arg.split("=", 1)
        spans = set()
        with open(path) as fh:
            for line in fh:
                cols = line.rstrip("\n").split("\t")
                if len(cols) < 2:
                    continue
                start = int(cols[1])
                end = int(cols[2]) if len(cols) > 2 else start
                spans.add((cols[0].removeprefix("./"), start, end))
        tp = {k for k in labels if any(p == k[0] and s <= k[1] <= e for p, s, e in spans)}
        fp = {f for f in spans if not any((f[0], n) in labels for n in range(f[1], f[2] + 1))}
        # Precision counts distinct reported lines (spans), so duplicates on a line count once.
        reported = len({(p, s) for p, s, _ in spans})
        fp_lines = len({(p, s) for p, s, _ in fp})
        recall = len(tp) / len(labels)
        precision = (reported - fp_lines) / reported if reported else 1.0
        hit_kinds = {labels[k] for k in tp}
        missed = [k for k in kinds if k not in hit_kinds]
        print(f"| {tool} | {recall:.2f} | {precision:.3f} | {len(tp)} | {fp_lines} | {len(missed)} |")
        if verbose:
            print(f"<!-- {tool} missed: {sorted(set(labels) - tp)} -->")
            print(f"<!-- {tool} false positives: {sorted(fp)} -->")
    print()


if __name__ == "__main__":
    main()
