"""Logging set-up shared by ``lockgate serve`` and its worker processes."""

from __future__ import annotations

import logging
import sys

# Libraries whose INFO lines (alembic's plugin and migration steps, aiohttp's access and
# server chatter) tell the operator nothing; they speak at WARNING unless logging is DEBUG.
NOISY_LIBRARIES = ("alembic", "aiohttp", "asyncio", "urllib3", "httpx", "httpcore", "filelock",
                   "huggingface_hub", "sqlalchemy", "presidio-analyzer", "picklescan")  # fmt: skip
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def quiet_libraries(level: int) -> None:
    """Keep library loggers at WARNING at the default level; DEBUG lets everything through."""
    if level <= logging.DEBUG:
        return
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def configure(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=FORMAT, stream=sys.stderr)
    quiet_libraries(logging.getLogger().getEffectiveLevel())
