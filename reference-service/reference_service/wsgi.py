"""gunicorn's entry point: ``gunicorn -c gunicorn.conf.py reference_service.wsgi:application``.

A configuration error is one log line (variable, value, what is allowed), then exit code 3, gunicorn's
"worker failed to boot": the arbiter stops, the container exits, and ECS shows the task as stopped instead of
letting it fail health checks for minutes.

The settings are read before the web stack (Flask, SQLAlchemy, psycopg) is imported: a task with a missing or
malformed variable stops in milliseconds, not after a few hundred milliseconds of imports. The Fernet keys are checked
when the app is built (``create_app``), with the same one line.
"""

import logging

from . import logs
from .config import ConfigError, Settings

logs.configure()  # as create_app does: the error line is JSON even where gunicorn has not configured logging
try:
    settings = Settings.from_environ()
    from .web import create_app

    application = create_app(settings)
except ConfigError as error:
    logging.getLogger("reference_service").critical(f"configuration error: {error}")
    raise SystemExit(3) from None
