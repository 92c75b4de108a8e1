"""gunicorn's entry point: ``gunicorn -c gunicorn.conf.py reference_service.wsgi:application``.

A configuration error is one log line (variable, value, what is allowed), then exit code 3, gunicorn's
"worker failed to boot": the arbiter stops, the container exits, and ECS shows the task as stopped instead of
letting it fail health checks for minutes.
"""

import logging

from .config import ConfigError
from .web import create_app

try:
    application = create_app()
except ConfigError as error:
    logging.getLogger("reference_service").critical(f"configuration error: {error}")
    raise SystemExit(3) from None
