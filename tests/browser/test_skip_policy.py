"""The browser tests' skip policy (tests/browser/conftest.py): a run that skipped
browser tests says so loudly outside CI, and fails in CI."""

from tests.browser.support import INSTALL_CHROMIUM, skip_banner, skip_verdict


def test_a_run_with_every_browser_test_run_is_fine_in_and_out_of_ci():
    assert skip_verdict(0, None) == "ok"
    assert skip_verdict(0, "true") == "ok"


def test_skipped_browser_tests_warn_outside_ci_and_fail_in_ci():
    assert skip_verdict(3, None) == "warn"
    assert skip_verdict(3, "") == "warn"
    assert skip_verdict(1, "true") == "fail"


def test_the_banner_counts_the_skips_gives_the_reasons_and_the_install_command():
    lines = skip_banner(18, ["Chromium is not installed"], "warn")
    assert lines[0] == "18 browser tests DID NOT RUN."
    assert "  reason: Chromium is not installed" in lines
    assert any(INSTALL_CHROMIUM in line for line in lines)
    assert not any("FAILS" in line for line in lines)
    assert any("FAILS" in line for line in skip_banner(1, [], "fail"))
