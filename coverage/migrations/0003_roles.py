"""The Editor and Contributor groups (see coverage/roles.py)."""

from django.db import migrations

# Frozen here: a later change to the roles is a new migration, not an edit.
ROLES = {
    "Editor": [
        "add_story",
        "change_story",
        "view_story",
        "add_update",
        "change_update",
        "view_update",
        "add_embed",
        "change_embed",
        "view_embed",
        "publish_update",
        "run_story",
    ],
    "Contributor": [
        "add_update",
        "change_update",
        "view_update",
        "add_embed",
        "change_embed",
        "view_embed",
        "view_story",
    ],
}


def create_roles(apps, schema_editor):
    from coverage.roles import install_roles

    install_roles(apps, ROLES)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("coverage", "0002_desk_and_embed_fields"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
