"""Settings for the server and worker processes that tests start (tests/test_serve.py).

The production settings, plus a URL that takes a known time to answer (a request
still in flight when the server is told to stop) and, with TEST_OEMBED_BASE set,
enrichment against the tests' fake oEmbed provider instead of the real ones.
"""

import os

from liveblog.settings import *  # noqa: F403

ROOT_URLCONF = "tests.serve_urls"

if os.environ.get("TEST_OEMBED_BASE"):
    EMBED_ENRICHMENT = True
    OEMBED_ENDPOINTS = {"YouTube": os.environ["TEST_OEMBED_BASE"] + "/youtube"}
