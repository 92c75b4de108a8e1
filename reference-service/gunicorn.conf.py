"""gunicorn settings for the reference service (what the Dockerfile runs).

* ONE worker process with threads (``gthread``): one SQLAlchemy pool per task, which is what the connection budget
  checked at synth assumes (``DB_POOL_SIZE + DB_MAX_OVERFLOW`` per task). ``WEB_THREADS`` (default 16) requests
  run at once; the pool hands each its own connection.
* SIGTERM (ECS stops a task after the load balancer's deregistration delay): gunicorn stops accepting, lets the
  in-flight requests finish for up to ``graceful_timeout`` and exits. ECS sends SIGKILL ``stopTimeout`` seconds
  after SIGTERM (30 s: the service's task definition sets none, and 30 is ECS's default), so the drain must end
  before that: ``GRACEFUL_TIMEOUT`` defaults to 25 s, leaving 5 s for the process to exit.
* ``keepalive`` longer than the ALB's idle timeout (60 s): the load balancer, not gunicorn, closes idle
  connections, so no request races a closing socket (an intermittent 502).
* Logs: gunicorn's own and the access log as JSON lines on stdout, like the application's (``logs.py``).
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "25"))
timeout = int(os.environ.get("WORKER_TIMEOUT", "60"))
keepalive = int(os.environ.get("KEEPALIVE", "65"))
# Build the app in the worker, after fork: the engine and its pool belong to the process that uses them.
preload_app = False
# No control socket: nobody attaches to a Fargate task's unix socket, and it would need a writable $HOME.
control_socket_disable = True
# The access log goes through logconfig_dict below; JsonFormatter turns each line into method/path/status fields.
access_log_format = "%(m)s %(U)s %(s)s %(D)sus"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "reference_service.logs.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["stdout"], "level": "INFO"},
}
