"""A GIN index for the reader's search on PostgreSQL.

Built from the same expression as ``coverage.models.search_document()`` (the
planner uses an expression index only for that exact expression). Not a
``Meta.indexes`` entry: SQLite has no GIN, and there the search is a LIKE scan.
"""

from django.db import migrations

INDEX_NAME = "update_search"


def index(apps):
    from django.contrib.postgres.indexes import GinIndex

    from coverage.models import search_document

    return GinIndex(search_document(), name=INDEX_NAME), apps.get_model("coverage", "Update")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        gin, model = index(apps)
        schema_editor.add_index(model, gin)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        gin, model = index(apps)
        schema_editor.remove_index(model, gin)


class Migration(migrations.Migration):
    dependencies = [("coverage", "0006_random_upload_names")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
