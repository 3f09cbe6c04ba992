from django import template
from django.utils.safestring import mark_safe

from coverage.sanitize import sanitize_html

register = template.Library()


@register.filter
def clean_html(value):
    """Apply the allow-list again on output, so rows saved before a rule change stay safe."""
    return mark_safe(sanitize_html(value))
