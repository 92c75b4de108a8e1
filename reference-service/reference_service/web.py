"""The reference service: the seed's ``/health`` and ``/version``, and a farmers API with encrypted phones.

Flask, as in the seed (its rate-limiting and validation examples are Flask): a synchronous WSGI app fits
SQLAlchemy's thread-safe pool and gunicorn's graceful SIGTERM handling without an event loop.
"""

from __future__ import annotations

import logging
import time
from typing import Optional

from flask import Flask, g, jsonify, request
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from . import logs
from .config import Settings, utc_timestamp
from .crypto import FarmerDataManager
from .db import create_database_engine, database_connected, log_database_failure

log = logging.getLogger("reference_service")


def create_app(settings: Optional[Settings] = None, engine: Optional[Engine] = None) -> Flask:
    logs.configure()
    settings = settings or Settings.from_environ()
    engine = engine or create_database_engine(settings.database)
    farmers = FarmerDataManager(settings.encryption_keys)

    app = Flask("reference_service")
    app.config["settings"] = settings
    app.config["engine"] = engine

    @app.before_request
    def _start_clock() -> None:
        g.started = time.monotonic()

    @app.after_request
    def _monitor_performance(response):
        # Seed "Performance Monitoring": log slow operations (> 2 s by default).
        duration = time.monotonic() - g.get("started", time.monotonic())
        if duration > settings.slow_operation_seconds:
            log.warning(
                f"Slow operation: {request.method} {request.path} took {duration:.2f}s",
                extra={"duration_seconds": round(duration, 3), "status": response.status_code},
            )
        return response

    @app.get("/health")
    def health():
        connected = database_connected(engine)
        body = {
            "status": "healthy" if connected else "unhealthy",
            "version": settings.version,
            "database": "connected" if connected else "disconnected",
            "timestamp": utc_timestamp(),
        }
        return jsonify(body), 200 if connected else 503

    @app.get("/version")
    def version():
        return jsonify(
            {"version": settings.version, "service": settings.service, "deployment_time": settings.deployment_time}
        )

    @app.errorhandler(OperationalError)
    def _database_unavailable(error):
        log_database_failure(error, f"{request.method} {request.path}")
        return jsonify({"error": "database unavailable"}), 503

    @app.errorhandler(PoolTimeout)
    def _pool_exhausted(error):
        # "QueuePool limit of size N overflow M reached, connection timed out": counted by the metric filter too.
        log_database_failure(error, f"{request.method} {request.path}")
        return jsonify({"error": "database unavailable"}), 503

    @app.errorhandler(DBAPIError)
    def _database_error(error):
        if error.connection_invalidated:
            log_database_failure(error, f"{request.method} {request.path}")
            return jsonify({"error": "database unavailable"}), 503
        log.error("database error: %s", error)
        return jsonify({"error": "database error"}), 500

    @app.post("/api/farmers")
    def create_farmer():
        data = request.get_json(silent=True)
        problems = _farmer_problems(data)
        if problems:
            return jsonify({"error": "Invalid data", "details": problems}), 400
        with engine.begin() as connection:
            farmer_id = connection.execute(
                text(
                    "INSERT INTO farmers (name, phone_number, email, country) "
                    "VALUES (:name, :phone, :email, :country) RETURNING id"
                ),
                {
                    "name": data["name"],
                    "phone": farmers.encrypt_phone(data["phone_number"]),
                    "email": data.get("email"),
                    "country": data["country"],
                },
            ).scalar_one()
        return jsonify({"id": farmer_id}), 201

    @app.get("/api/farmers/<int:farmer_id>")
    def get_farmer(farmer_id: int):
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT id, name, phone_number, email, country, subscription_status FROM farmers WHERE id = :id"
                ),
                {"id": farmer_id},
            ).mappings().first()
        if row is None:
            return jsonify({"error": "not found"}), 404
        farmer = dict(row)
        if farmer["phone_number"] not in (None, "REMOVED"):
            farmer["phone_number"] = farmers.decrypt_phone(farmer["phone_number"])
        return jsonify(farmer)

    return app


def _farmer_problems(data) -> dict[str, str]:
    """The seed's FarmerSchema rules ("Input Validation"): name non-empty, phone starts with +, country >= 2."""
    if not isinstance(data, dict):
        return {"body": "a JSON object"}
    problems = {}
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        problems["name"] = "a non-empty string"
    if not isinstance(data.get("phone_number"), str) or not data["phone_number"].startswith("+"):
        problems["phone_number"] = "a string in international format, starting with +"
    if not isinstance(data.get("country"), str) or len(data["country"]) < 2:
        problems["country"] = "a string of at least 2 characters"
    if data.get("email") is not None and not isinstance(data["email"], str):
        problems["email"] = "a string"
    return problems
