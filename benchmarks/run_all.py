"""`make bench`: every quick benchmark, one after another, each in its own interpreter (they set up their own
in-process AWS mocks). The offers learning benchmark is separate (`make bench-learning`, a few minutes), and
the pacing day runs as a test (`pytest tests/test_pacing_day.py -s`)."""

import subprocess
import sys

BENCHMARKS = [
    "benchmarks.dynamodb_calls",
    "benchmarks.match_engine",
    "benchmarks.decisions_recommend",
    "benchmarks.aggregator_cost",
]


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"\n## {module}  (`.venv/bin/python -m {module}`)\n", flush=True)
        if subprocess.run([sys.executable, "-m", module], check=False).returncode != 0:
            failed.append(module)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
