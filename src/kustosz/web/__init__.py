"""The web application: HTML pages (Jinja2 + htmx) and the JSON API under /api."""

from kustosz.web.app import create_app

__all__ = ["create_app"]
