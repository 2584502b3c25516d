"""Engine benchmark: `python bench/engine_bench.py [--rules 100 --events 100000 --reloads 0 --long]`.

The same as `tagent bench engine --output json` (the code lives in tagent.detect.bench, the only package
allowed to import durable_rules). Prints one JSON object; see bench/README.md for what the fields mean.
"""

from __future__ import annotations

import argparse
import json

from tagent.detect.bench import run_engine_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--reloads", type=int, default=0)
    parser.add_argument("--workloads", type=int, default=2_000)
    parser.add_argument("--long", action="store_true", help="1,000,000 events and 100 rules reloads")
    args = parser.parse_args()
    events, reloads = args.events, args.reloads
    if args.long:
        events, reloads = max(events, 1_000_000), max(reloads, 100)
    print(json.dumps(run_engine_bench(rules=args.rules, events=events, reloads=reloads, workloads=args.workloads),
                     indent=2))


if __name__ == "__main__":
    main()
