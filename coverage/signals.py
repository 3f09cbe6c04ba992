"""What happens around an embed's save: its display image, and its optional enrichment."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from PIL import Image

from coverage import images, tasks
from coverage.models import Embed

logger = logging.getLogger(__name__)


@receiver(pre_save, sender=Embed, dispatch_uid="coverage.embed.note_new_image")
def note_new_image(sender, instance, **kwargs):
    # Until the field saves it, a freshly uploaded file is not committed to storage.
    instance._image_is_new = bool(instance.image) and not instance.image._committed


@receiver(post_save, sender=Embed, dispatch_uid="coverage.embed.display_image")
def build_display_image(sender, instance, raw=False, **kwargs):
    """Resize on upload, inside the save's transaction: Embed.save() then bumps the
    story's revision, so no cached page is ever left pointing at the full-size original."""
    if raw:  # loading fixtures: rows as they are
        return
    image_is_new = getattr(instance, "_image_is_new", False)
    wanted = instance.image and (image_is_new or not instance.display_image)
    if wanted:
        try:
            name = images.build_display_image(instance)
        except (OSError, ValueError, Image.DecompressionBombError):
            # The page falls back to the upload itself; the next save tries again.
            logger.exception("Could not make the display image of embed %s", instance.pk)
            return
    elif not instance.image and instance.display_image:
        name = ""
    else:
        return
    instance.display_image.name = name
    # An UPDATE, not save(): no second revision bump, no second round of signals.
    Embed.objects.filter(pk=instance.pk).update(display_image=name)


@receiver(post_save, sender=Embed, dispatch_uid="coverage.embed.enrich")
def enrich_after_commit(sender, instance, update_fields=None, raw=False, **kwargs):
    """Ask the provider's oEmbed endpoint once the update is saved, never inside its
    transaction (a slow provider must not hold the story's row lock)."""
    if (
        settings.EMBED_ENRICHMENT
        and not raw
        # The enrichment's own save names its fields; an editor's save does not.
        and update_fields is None
        and instance.enriched_at is None
        and instance.url
        and instance.provider in settings.OEMBED_ENDPOINTS
    ):
        embed_id = instance.pk
        transaction.on_commit(lambda: tasks.enrich_embed.enqueue(embed_id))
