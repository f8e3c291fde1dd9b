"""Tests written in the language: ``spm test`` (cases, runner, reports)."""

from spmlang.testing.runner import Outcome, junit_xml, report, run_tests

__all__ = ["Outcome", "junit_xml", "report", "run_tests"]
