"""Results of checks as JUnit XML: shared by ``mockattr check`` and ``mockattr verify``."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree


@dataclass
class CheckResult:
    """One check: its name, how long it took, its failure if any, and why it was skipped if it was."""

    name: str
    seconds: float
    failure: str | None = None
    skipped: str | None = None


def junit_xml(results: list[CheckResult], suite: str = "mockattr check", classname: str = "mockattr.check") -> str:
    """The results as a JUnit XML report: one testsuite named ``suite``, one testcase per result."""
    root = ElementTree.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(sum(1 for r in results if r.failure)),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    if any(r.skipped for r in results):
        root.set("skipped", str(sum(1 for r in results if r.skipped)))
    for result in results:
        case = ElementTree.SubElement(
            root, "testcase", classname=classname, name=result.name, time=f"{result.seconds:.3f}"
        )
        if result.failure:
            ElementTree.SubElement(case, "failure", message=result.failure.splitlines()[0]).text = result.failure
        if result.skipped:
            ElementTree.SubElement(case, "skipped", message=result.skipped)
    return ElementTree.tostring(root, encoding="unicode")
