"""Editors may remove a card (an embed) from an update: without delete_embed the
admin's inline has no Delete box, and a wrong card could not be taken off."""

from django.db import migrations


def grant_editors(apps, schema_editor):
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    # Django adds permissions after migrating, too late for this step.
    create_permissions(global_apps.get_app_config("coverage"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    delete_embed = Permission.objects.get(
        content_type__app_label="coverage", codename="delete_embed"
    )
    for group in Group.objects.filter(name="Editor"):
        group.permissions.add(delete_embed)


class Migration(migrations.Migration):
    dependencies = [("coverage", "0009_story_slug_not_reserved")]

    operations = [migrations.RunPython(grant_editors, migrations.RunPython.noop)]
