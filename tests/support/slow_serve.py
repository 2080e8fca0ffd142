"""``omnigw serve`` with a slow channel list: the shutdown test's in-flight requests.

Run as ``python -m tests.support.slow_serve [serve options]``. It wraps the repository function
behind ``{ channels }`` so that each call prints ``SLOW-START`` and then takes
``SLOW_SECONDS``; everything else is the real command, the real uvicorn and the real app.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from gateway.cli import main
from gateway.database import channels

SLOW_SECONDS = float(os.environ.get("SLOW_SECONDS", "2"))
_original = channels.list_channels


async def slow_list_channels(*args: Any, **kwargs: Any) -> Any:
    print("SLOW-START", flush=True)
    await asyncio.sleep(SLOW_SECONDS)
    return await _original(*args, **kwargs)


if __name__ == "__main__":
    channels.list_channels = slow_list_channels  # type: ignore[assignment]
    main.app(["serve", *sys.argv[1:]])
