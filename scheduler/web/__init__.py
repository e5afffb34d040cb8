"""The admin console: a Starlette application with pages rendered on the server.

``create_app(engine, settings.web)`` builds it; ``approvals web`` (or ``approvals serve``
with ``[web] enabled``) runs it.
"""

from scheduler.web.app import create_app

__all__ = ["create_app"]
