"""Runs every tests/py/test_*.py with unittest and prints one PASS/FAIL line
per test for tests/run.sh.  Uses Debian's /usr/bin/python3, whose sqlite3
module can load extensions; tlhelp.py holds the shared helpers."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class LineResult(unittest.TextTestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        print(f"PASS {test.id()}", flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        print(f"FAIL {test.id()}: {self._exc_info_to_string(err, test)}", flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        print(f"FAIL {test.id()}: {self._exc_info_to_string(err, test)}", flush=True)

    def addSubTest(self, test, subtest, err):
        # A failing subTest fails its test: report it (with the subtest's
        # parameters), or the run would fail with no FAIL line to say why.
        super().addSubTest(test, subtest, err)
        if err is not None:
            print(f"FAIL {subtest.id()}: {self._exc_info_to_string(err, test)}", flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print(f"SKIP {test.id()}: {reason}", flush=True)


def main():
    pattern = sys.argv[1] if len(sys.argv) > 1 else "test_*.py"
    suite = unittest.defaultTestLoader.discover(HERE, pattern=pattern)
    runner = unittest.TextTestRunner(resultclass=LineResult, stream=open(os.devnull, "w"), verbosity=0)
    result = runner.run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
