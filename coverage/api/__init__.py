"""The read-only JSON API, /api/v1/: stories, their updates, and the change
stream that follows the poll's revision cursor (``views.changes``).

``http`` holds what every answer shares (problem+json errors, conditional
GET, CORS, caching headers); ``schemas`` the documented shapes (the OpenAPI
document is generated from them); ``views`` the operations; ``docs`` the
OpenAPI document and the docs page rendered from it.
Every object comes from ``coverage.representation``, like JSON Feed's.
"""
