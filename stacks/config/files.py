"""Finding and reading the configuration files: ``environments/<name>.json`` and ``delivery/<name>.json``.

Everything that can be wrong with a file before its settings are looked at (no such directory, no such file,
not UTF-8, not JSON, a key given twice, not an object) is reported from here, as the same one
:class:`ConfigError` line as every other configuration problem. Only then are the settings validated
(:func:`.loader.parse_environment`, :func:`.delivery.parse_delivery`): their models call the construct library's
own checks, so importing them loads the library and aws-cdk-lib (about a second). This module imports neither,
so that ``cdk synth -c env=typo`` answers at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

from .errors import ConfigError

if TYPE_CHECKING:
    from .delivery import DeliveryConfig
    from .model import EnvironmentConfig

_ROOT = Path(__file__).resolve().parents[2]
#: Where the environment files live: one JSON file per environment. A new environment is a new file.
ENVIRONMENTS_DIR = _ROOT / "environments"
#: The JSON Schema of an environment file, generated from :class:`EnvironmentFile` (``python -m stacks.config``).
SCHEMA_FILE = ENVIRONMENTS_DIR / "schema" / "environment.schema.json"
#: The environment the main job synthesizes when no ``-c env=NAME`` is given: account-agnostic, offline.
DEFAULT_ENVIRONMENT = "sandbox"
#: Where the per-account delivery files live (``-c delivery=NAME``).
DELIVERY_DIR = _ROOT / "delivery"


def available_environments(directory: Path = ENVIRONMENTS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))


def available_deliveries(directory: Path = DELIVERY_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))


class DuplicateKey(ValueError):
    def __init__(self, field: str, value: Any) -> None:
        super().__init__(field)
        self.field, self.value = field, value


class _Pairs(list):
    """A JSON object as its key/value pairs in file order (``object_pairs_hook``), before duplicates are checked."""


def _objects(node: Any, path: str = "") -> Any:
    """Turn :class:`_Pairs` into dicts, refusing a key given twice with its full path (``image.tag``): JSON
    itself silently keeps the last one, a configuration must not."""
    if isinstance(node, list) and not isinstance(node, _Pairs):
        return [_objects(item, f"{path}.{index}" if path else str(index)) for index, item in enumerate(node)]
    if not isinstance(node, _Pairs):
        return node
    result: dict[str, Any] = {}
    for key, value in node:
        field = f"{path}.{key}" if path else key
        if key in result:
            raise DuplicateKey(field, _objects(value, field))
        result[key] = _objects(value, field)
    return result


def _read_object(where: str, path: Path) -> dict[str, Any]:
    """The JSON object of a configuration file, or the one line saying what is wrong with the file itself."""
    try:
        raw = _objects(json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_Pairs))
    except json.JSONDecodeError as error:
        raise ConfigError(where, path.name, f"line {error.lineno}", f"valid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(where, path.name, f"byte {error.start}", "a UTF-8 encoded JSON file") from None
    except DuplicateKey as error:
        raise ConfigError(
            where, error.field, error.value, "each setting once: the file gives it twice (JSON would keep only the last)"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(where, path.name, type(raw).__name__, "a JSON object of settings")
    return raw


def load_environment(
    name: Optional[str],
    *,
    version: Optional[str] = None,
    environ: Mapping[str, str] = os.environ,
    directory: Path = ENVIRONMENTS_DIR,
) -> EnvironmentConfig:
    """Load and validate one environment.

    :param name: environment name (``-c env=NAME``); None means :data:`DEFAULT_ENVIRONMENT`.
    :param version: ``-c version=...``: overrides the image tag and ``APP_VERSION``.
    :param environ: where ``CDK_DEFAULT_ACCOUNT`` / ``CDK_DEFAULT_REGION`` are read for ``"from-cli"``.
    """
    name = DEFAULT_ENVIRONMENT if name is None else name
    if not directory.is_dir():
        raise ConfigError(str(name), "config_dir", str(directory), "a directory of <environment>.json files")
    known = available_environments(directory)
    if not isinstance(name, str) or name not in known:
        raise ConfigError(str(name), "env", name, f"choose one of {', '.join(known)} (files in {directory.name}/)")
    raw = _read_object(name, directory / f"{name}.json")
    from .loader import parse_environment  # the models, and with them the construct library

    return parse_environment(name, raw, version=version, environ=environ)


def load_delivery(
    name: str, *, environ: Mapping[str, str] = os.environ, directory: Path = DELIVERY_DIR
) -> DeliveryConfig:
    """Load and validate one account's delivery configuration (``-c delivery=NAME``)."""
    where = f"delivery/{name}"
    known = available_deliveries(directory)
    if name not in known:
        raise ConfigError(where, "delivery", name, f"choose one of {', '.join(known)} (files in {directory.name}/)")
    raw = _read_object(where, directory / f"{name}.json")
    from .delivery import parse_delivery  # the library's props validate the settings

    return parse_delivery(name, raw, environ=environ)
