"""The newsroom's two roles, as auth groups.

Editor: writes, publishes, edits anyone's updates, pins, retracts, and takes
stories live, ends them and starts the next day's. Contributor: writes drafts
and submits them; an editor publishes them from the desk.

Migration 0003_roles creates the groups (with its own frozen copy of this
table); ``install_roles`` re-creates them where a test or a fresh database
has lost them (a flushed test database keeps no data-migration rows).
"""

from django.apps import apps as global_apps

EDITOR = "Editor"
CONTRIBUTOR = "Contributor"

ROLES = {
    EDITOR: [
        *(
            f"{verb}_{model}"
            for model in ("story", "update", "embed")
            for verb in ("add", "change", "view")
        ),
        "publish_update",
        "run_story",
        # Editors take a wrong card off an update (migration 0010).
        "delete_embed",
        # Editors name the newsroom's writers (migration 0007).
        *(f"{verb}_byline" for verb in ("add", "change", "view", "delete")),
    ],
    CONTRIBUTOR: [
        "add_update",
        "change_update",
        "view_update",
        "add_embed",
        "change_embed",
        "view_embed",
        "view_story",
    ],
}


def install_roles(apps=global_apps, roles=ROLES, *, only_missing=False) -> None:
    """Create the groups with their coverage permissions (creating those first:
    Django adds permissions after migrating, too late for a data migration)."""
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    if only_missing and Group.objects.filter(name__in=roles).count() == len(roles):
        return
    # The installed app's config, not the migration state's stub (which has no
    # models module, so create_permissions would skip it); the models and
    # permissions themselves are read through ``apps``.
    create_permissions(global_apps.get_app_config("coverage"), apps=apps, verbosity=0)
    for name, codenames in roles.items():
        group, created = Group.objects.get_or_create(name=name)
        if created or not only_missing:
            permissions = Permission.objects.filter(
                content_type__app_label="coverage", codename__in=codenames
            )
            group.permissions.set(permissions)
