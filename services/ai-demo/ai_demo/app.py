"""The ASGI entry point, `uvicorn ai_demo.app:app`; configured from the environment (see config.py)."""

from __future__ import annotations

import logging
import sys

from ai_demo.config import ConfigError, load_config
from ai_demo.providers import ProviderUnavailable
from ai_demo.service import create_app

logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")

try:
    app = create_app(load_config())
except (ConfigError, ProviderUnavailable) as error:
    # A clear message and exit status 1 instead of uvicorn's traceback.
    sys.exit(str(error))
