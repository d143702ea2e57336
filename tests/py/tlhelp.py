"""Helpers shared by the Python tests: a connection with tracelite loaded,
the real-trace folder, and an independent canonicalizer of OTLP JSON that the
round-trip tests compare tracelite's export against."""
import os
import sqlite3

SO = os.environ.get("TL_SO", os.path.join(os.path.dirname(__file__), "..", "..", "build", "tracelite"))
TRACES = os.environ.get("TL_TRACES", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "traces"))
TESTDATA = os.path.join(os.path.dirname(__file__), "..", "..", "testdata")


def connect(path=":memory:"):
    conn = sqlite3.connect(path)
    conn.enable_load_extension(True)
    conn.load_extension(SO)
    conn.enable_load_extension(False)
    return conn


def trace_path(rel):
    return os.path.join(TRACES, rel)
