from django import template
from django.utils.safestring import mark_safe

from coverage import seo
from coverage.sanitize import sanitize_html

register = template.Library()


@register.filter
def clean_html(value):
    """Apply the allow-list again on output, so rows saved before a rule change stay safe."""
    return mark_safe(sanitize_html(value))


@register.simple_tag(takes_context=True)
def live_blog_posting(context, story, updates):
    """The story and these updates as LiveBlogPosting JSON-LD (coverage.seo)."""
    return seo.as_json_ld(seo.live_blog_posting(context["request"], story, updates))
