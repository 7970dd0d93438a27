"""The subscription web pages (Starlette): subscribe, confirm, manage, unsubscribe."""

from digest.web.app import create_app

__all__ = ["create_app"]
