"""Optional enrichment of embed cards through their provider's oEmbed endpoint.

Off unless EMBED_ENRICHMENT is on. Only providers in OEMBED_ENDPOINTS are asked,
each answer is cached (failures briefly), and every request has a hard deadline
of OEMBED_TIMEOUT seconds. The answer is read into the card's plain-text fields
(its HTML goes through the embed-code reader, which keeps text only): nothing
a provider sends is ever inserted into a page as markup.
"""

import concurrent.futures
import hashlib
import http.client
import json
import logging
import time
import urllib.request
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.tasks import DEFAULT_TASK_QUEUE_NAME, task

from coverage import embeds
from coverage.models import Embed
from coverage.sanitize import plain_text

logger = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 256 * 1024
FAILURE_CACHE_SECONDS = 300
# A caller waits at most OEMBED_TIMEOUT for its answer, even from a server that
# trickles bytes: the request runs here, and is abandoned at the deadline.
_requests = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="oembed")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The allow-listed endpoint answers itself; it may not send us anywhere else."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


# Queues ----------------------------------------------------------------------
# A task goes on a queue named for what running it needs, and a worker
# (manage.py task_worker) takes only the queues its own settings can run: a
# worker started without the hub never claims a ping and skips it, nor one
# told of another hub. Everything else needs nothing a worker could lack.

ENRICHMENT_QUEUE = "oembed"


def websub_queue() -> str:
    """The hub's own queue: its address and the feeds' (SITE_URL), fingerprinted."""
    fingerprint = f"{settings.WEBSUB_HUB_URL}\n{settings.SITE_URL}".encode()
    return f"websub-{hashlib.sha256(fingerprint).hexdigest()[:12]}"


def worker_queues() -> list[str]:
    """The queues a worker with this process's settings runs correctly."""
    queues = [DEFAULT_TASK_QUEUE_NAME]
    if settings.EMBED_ENRICHMENT:
        queues.append(ENRICHMENT_QUEUE)
    if settings.WEBSUB_HUB_URL:
        queues.append(websub_queue())
    return queues


def enqueue_enrichment(embed_id: int) -> None:
    enrich_embed.using(queue_name=ENRICHMENT_QUEUE).enqueue(embed_id)


@task
def enrich_embed(embed_id: int) -> str:
    """Fill the embed's blank card fields from its provider's oEmbed answer."""
    embed = Embed.objects.select_related("update").filter(pk=embed_id).first()
    if embed is None or not settings.EMBED_ENRICHMENT:
        return "skipped"
    endpoint = settings.OEMBED_ENDPOINTS.get(embed.provider)
    if not endpoint or not _is_providers_link(embed):
        return "not an allow-listed provider's link"
    answer = fetch_oembed(endpoint, embed.url)
    if not answer:
        return "no answer"
    from coverage import publishing  # publishing enqueues this task

    publishing.fill_embed(embed.pk, card_fields(answer, embed.provider))
    return "enriched"


def _is_providers_link(embed: Embed) -> bool:
    try:
        return embeds.recognise_url(embed.url).provider == embed.provider
    except embeds.EmbedError:
        return False


def fetch_oembed(endpoint: str, url: str) -> dict:
    """The endpoint's JSON answer for ``url``, or {} if it failed; cached either way."""
    request_url = f"{endpoint}?{urlencode({'url': url, 'format': 'json', 'maxwidth': 600})}"
    key = "oembed:" + hashlib.sha256(request_url.encode()).hexdigest()
    answer = cache.get(key)
    if answer is not None:
        return answer
    timeout = settings.OEMBED_TIMEOUT
    try:
        answer = _requests.submit(_get_json, request_url, timeout).result(timeout=timeout)
    # A missed deadline is a TimeoutError, an OSError like the network's own failures.
    except (OSError, ValueError, http.client.HTTPException) as error:
        logger.warning("oEmbed request to %s failed: %r", urlsplit(endpoint).hostname, error)
        cache.set(key, {}, FAILURE_CACHE_SECONDS)
        return {}
    cache.set(key, answer, settings.OEMBED_CACHE_SECONDS)
    return answer


def _get_json(request_url: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        request_url, headers={"Accept": "application/json", "User-Agent": "liveblog-oembed/1"}
    )
    with _opener.open(request, timeout=timeout) as response:
        if "json" not in response.headers.get_content_type():
            raise ValueError(f"not JSON: {response.headers.get_content_type()}")
        body = bytearray()
        while chunk := response.read1(16384):
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise ValueError("answer too large")
            if time.monotonic() > deadline:
                raise TimeoutError("answer too slow")
    answer = json.loads(body)
    if not isinstance(answer, dict):
        raise ValueError("answer is not a JSON object")
    return answer


def card_fields(answer: dict, provider: str) -> dict:
    """The card's fields from an oEmbed answer, as plain text. The answer's HTML counts
    only as the provider's own embed code (X and Bluesky put the post's text there)."""

    def text(name: str) -> str:
        value = answer.get(name)
        return plain_text(value) if isinstance(value, str) else ""

    fields = {
        "title": text("title")[:300],
        "author_name": text("author_name")[:200],
        "author_handle": _handle_from(text("author_url")),
    }
    html = answer.get("html")
    if isinstance(html, str) and html.lstrip().startswith("<"):
        try:
            snippet = embeds.read_embed_code(html)
        except embeds.EmbedError:
            snippet = None
        if snippet and snippet.provider == provider:
            fields["text"] = snippet.text
            fields["posted_at"] = snippet.posted_at
            fields["author_name"] = fields["author_name"] or snippet.author_name
            fields["author_handle"] = snippet.author_handle or fields["author_handle"]
    return fields


def _handle_from(author_url: str) -> str:
    """'@name' from https://x.com/name or https://www.youtube.com/@name."""
    try:
        parts = urlsplit(author_url)
    except ValueError:
        return ""
    segments = [segment for segment in parts.path.split("/") if segment]
    if parts.scheme not in ("http", "https") or len(segments) != 1:
        return ""
    handle = segments[0]
    if handle.startswith("@"):
        return handle[:200]
    host = (parts.hostname or "").removeprefix("www.")
    return f"@{handle}"[:200] if host in ("x.com", "twitter.com") else ""
