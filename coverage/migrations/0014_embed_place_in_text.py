from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coverage", "0013_story_lead_image_display"),
    ]

    operations = [
        migrations.AddField(
            model_name="embed",
            name="after_block",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Shown after this many paragraphs, lists or quotations of the text "
                "(0: above it). Empty: after the text.",
                null=True,
            ),
        ),
    ]
