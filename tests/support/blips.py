"""One failure of one database step, injected in-process: what a retry must then finish."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def fail_once(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, error: Exception, *,
              when: Callable[..., bool] = lambda *args, **kwargs: True) -> list[int]:
    """Make ``module.name`` raise ``error`` the first time it is called with arguments that
    ``when`` accepts; the list grows by one per failure raised (to assert it happened)."""
    real = getattr(module, name)
    failed: list[int] = []

    async def blip(*args: Any, **kwargs: Any) -> Any:
        if not failed and when(*args, **kwargs):
            failed.append(1)
            raise error
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, name, blip)
    return failed
