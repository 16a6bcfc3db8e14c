"""Runs the core's plain test modules under MicroPython (which has no pytest)."""

import sys

MODULES = ("test_config", "test_uci", "test_ruleset", "test_plan", "test_conntrack",
           "test_strictjson")


def main():
    passed = failed = 0
    for name in MODULES:
        module = __import__(name)
        for attr in sorted(dir(module)):
            if not attr.startswith("test_"):
                continue
            try:
                getattr(module, attr)()
                passed += 1
            except Exception as e:  # report every failure, then fail the run
                failed += 1
                print("FAILED {}.{}: {!r}".format(name, attr, e))
    print("micropython: {} passed, {} failed".format(passed, failed))
    sys.exit(1 if failed or not passed else 0)


main()
