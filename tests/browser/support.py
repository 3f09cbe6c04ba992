"""Constants and small helpers the browser tests share."""

POLL_SECONDS = 1
POLL_MS = POLL_SECONDS * 1000
# "A few poll intervals": the bound for everything that is not the timing under test.
FEW_POLLS_MS = 5 * POLL_MS
PASSWORD = "correct horse battery staple"

# Records Content Security Policy violations where a test can read them.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
