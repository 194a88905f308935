"""featgen benchmark suite: ``python bench/run.py [--quick] [--json out.json]`` (see README.md)."""
