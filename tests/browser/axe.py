"""axe-core (npm, package.json) run in a page: the accessibility check of the
browser tests.

How it gets into the page: the site's Content Security Policy forbids inline
scripts, so `page.add_script_tag(content=...)` would be blocked (and reported as
a violation), and a context with `bypass_csp=True` would check a page that no
longer runs under its real policy. `page.evaluate(source)` runs the source
through the DevTools protocol, which CSP does not govern (it governs what the
page itself loads and evaluates), so the page stays exactly as readers get it.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page

AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
INSTALL_AXE = "npm ci --no-audit --no-fund (`make install-test` runs it)"

# WCAG 2.0, 2.1 and 2.2 A and AA, and Deque's best practices.
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# What fails a test. Moderate and minor findings (a page without an <h1>, say)
# are advice: run_axe returns them, and the tests leave them out.
FAILING_IMPACTS = {"serious", "critical"}


def axe_source() -> str:
    """axe.min.js as installed by npm; without it the test is skipped, or fails in CI."""
    try:
        return AXE_SOURCE.read_text()
    except FileNotFoundError:
        message = f"axe-core is not installed ({AXE_SOURCE} is missing). Install it: {INSTALL_AXE}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def run_axe(page: Page) -> list[dict]:
    """Every violation axe finds in the page as it is now (all impacts)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        RULE_TAGS,
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    """One line per violation (id, impact, what it is) and one per offending node."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} [{violation['impact']}]: {violation['help']}")
        for node in violation["nodes"]:
            target = " ".join(
                " >> ".join(part) if isinstance(part, list) else part for part in node["target"]
            )
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"    {target}  -- {summary}")
    return "\n".join(lines)


def failing(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in FAILING_IMPACTS]
