"""The operator tool's tests make ~90 botocore sessions and ~400 clients (each command opens its own, as the tool
does in production). Two of botocore's per-session checks cost more than the rest of a session together, and give
the same answer every time; here each is worked out once per run (like ``botocore_models_read_once`` in
tests/conftest.py, which does the same for the service models).

- Every session registers ~130 built-in event handlers, and botocore checks each handler's signature
  (``inspect.getfullargspec``: does it accept ``**kwargs``?) on every registration.
- Every session and client renames each event it registers or emits through botocore's alias table
  (``EventAliaser._alias_event_name``), caching the result per emitter - so the cache starts empty for every
  client.

What botocore registers, emits and calls is unchanged: a handler's signature is fixed when its function is
defined, and the alias table is botocore's constant ``EVENT_ALIASES`` (an emitter with other aliases keeps its
own cache).
"""

from __future__ import annotations

import types
from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def botocore_handler_checks_once():
    import botocore.hooks

    original_accepts_kwargs = botocore.hooks.accepts_kwargs
    accepts: dict[types.FunctionType, Any] = {}

    def accepts_kwargs(func: Any) -> Any:
        # A bound method accepts **kwargs exactly when its function does; other callables are checked as before.
        function = func.__func__ if isinstance(func, types.MethodType) else func
        if not isinstance(function, types.FunctionType):
            return original_accepts_kwargs(func)
        if function not in accepts:
            accepts[function] = original_accepts_kwargs(func)
        return accepts[function]

    aliased: dict[str, str] = {}
    original_init = botocore.hooks.EventAliaser.__init__

    def init(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        original_init(self, event_emitter, event_aliases)
        if self._event_aliases == botocore.hooks.EVENT_ALIASES:
            self._alias_name_cache = aliased  # botocore's own per-emitter cache, shared by the default table's users

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.hooks, "accepts_kwargs", accepts_kwargs)
        patch.setattr(botocore.hooks.EventAliaser, "__init__", init)
        yield
