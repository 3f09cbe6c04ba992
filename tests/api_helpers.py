"""Shared by the API's tests: requests, and checks of answers against the
OpenAPI document's own schemas (so the docs cannot drift from the answers)."""

import functools
import json

from django.urls import reverse
from jsonschema import Draft202012Validator

from coverage.api.views import api


def get(client, name, params=None, headers=None, **kwargs):
    return client.get(reverse(f"api:{name}", kwargs=kwargs), params or {}, headers=headers or {})


@functools.cache
def _components() -> dict:
    return json.loads(json.dumps(api.get_openapi_schema()))["components"]


def assert_valid(schema_name: str, data) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _components()}
    errors = list(Draft202012Validator(schema).iter_errors(data))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def assert_problem(response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    document = response.json()
    assert_valid("ProblemDetails", document)
    assert document["status"] == status
    assert document["type"].endswith(f"/api/v1/docs#problem-{kind}")
    assert document["title"] and document["detail"]
    return document
