#!/usr/bin/env python3
"""Print gcovr's JSON summary (make coverage) as one table: each file's
lines and branches covered, then the total."""
import json
import sys


def pct(covered, total):
    return "%6.1f%%" % (100.0 * covered / total) if total else "     -"


def main():
    with open(sys.argv[1]) as f:
        s = json.load(f)
    print("%-24s %13s %7s %13s %7s" % ("file", "lines", "", "branches", ""))
    for f in sorted(s["files"], key=lambda f: f["filename"]):
        print("%-24s %6d/%-6d %s %6d/%-6d %s" % (
            f["filename"], f["line_covered"], f["line_total"],
            pct(f["line_covered"], f["line_total"]),
            f["branch_covered"], f["branch_total"],
            pct(f["branch_covered"], f["branch_total"])))
    print("%-24s %6d/%-6d %s %6d/%-6d %s" % (
        "TOTAL src/", s["line_covered"], s["line_total"],
        pct(s["line_covered"], s["line_total"]),
        s["branch_covered"], s["branch_total"],
        pct(s["branch_covered"], s["branch_total"])))


if __name__ == "__main__":
    main()
