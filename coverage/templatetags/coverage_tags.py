import datetime as dt
import re

from django import template
from django.conf import settings
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from coverage import seo
from coverage.embeds.placement import interleave
from coverage.models import Update, search_words
from coverage.sanitize import body_text, sanitize_html

register = template.Library()


@register.filter
def clean_html(value):
    """Apply the allow-list again on output, so rows saved before a rule change stay safe."""
    return mark_safe(sanitize_html(value))


@register.filter
def iso_time(value):
    """A <time datetime>: GMT, to the second ("2026-03-14T19:41:05+00:00"). HTML allows
    at most three digits of a second's fraction, and Django's "c" format gives six."""
    if not value:
        return ""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


@register.simple_tag(takes_context=True)
def body_and_cards(context, update, text_class="update-body", **card_context):
    """The update's sanitised text with each of its cards (coverage/embed.html)
    after the block it stands after (``Embed.after_block``), the rest after the
    text. Each run of text is wrapped in a ``<div class="text_class">`` (none
    when ``text_class`` is empty: a feed's description); the cards render in
    this context, plus ``card_context`` (``obj=update`` for feeds and the fragment)."""
    card_template = context.template.engine.get_template("coverage/embed.html")
    parts = []
    for part in interleave(sanitize_html(update.body), update.embeds.all()):
        if isinstance(part, str):
            # Sanitised above: the runs are the allow-list's HTML, safe as they are.
            text = mark_safe(part.strip())
            parts.append(
                format_html('<div class="{}">{}</div>', text_class, text) if text_class else text
            )
            continue
        with context.push(embed=part, **card_context):
            parts.append(card_template.render(context))
    return mark_safe("".join(parts))


@register.simple_tag(takes_context=True)
def live_blog_posting(context, story, updates):
    """The story and these updates as LiveBlogPosting JSON-LD (coverage.seo)."""
    return seo.as_json_ld(seo.live_blog_posting(context["request"], story, updates))


@register.simple_tag(takes_context=True)
def news_article(context, update):
    """An update's own page as NewsArticle JSON-LD (coverage.seo)."""
    return seo.as_json_ld(seo.news_article(context["request"], update))


@register.inclusion_tag("coverage/share_card.html", takes_context=True)
def share_card(context, subject):
    """Open Graph / Twitter card meta for a story or an update (coverage.seo)."""
    request = context["request"]
    if isinstance(subject, Update):
        card, kind = seo.update_card(request, subject), "article"
    else:
        card, kind = seo.story_card(request, subject), "website"
    return {"card": card, "type": kind, "site_name": settings.NEWSROOM_NAME}


SNIPPET_WORDS = 30


@register.simple_tag
def search_snippet(update, query):
    """Some thirty words of the update's text around the first word searched for,
    each searched word marked. Plain text, escaped: a cut through the body's HTML
    could leave half a tag."""
    text = body_text(update.body)
    # Stems, roughly, so "floods" marks "flooding" as full-text search finds it.
    stems = [re.sub(r"(ing|ed|es|s)$", "", word) or word for word in search_words(query)]
    if not stems:
        return text[:200]
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, stems)) + r")\w*", re.IGNORECASE)
    words = text.split(" ")
    first = next((n for n, word in enumerate(words) if pattern.search(word)), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    shown = " ".join(words[start : start + SNIPPET_WORDS])
    pieces, at = [], 0
    for match in pattern.finditer(shown):
        pieces.append(format_html("{}<mark>{}</mark>", shown[at : match.start()], match.group()))
        at = match.end()
    pieces.append(escape(shown[at:]))
    lead = "… " if start else ""
    tail = " …" if start + SNIPPET_WORDS < len(words) else ""
    return mark_safe(lead + "".join(pieces) + tail)
