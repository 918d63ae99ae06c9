"""Registrars for the sub-commands that belong to other modules (serve, export, course).

Each registrar adds one sub-parser whose handler imports its module lazily, so that
``dlweek --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Registrar = Callable[[argparse._SubParsersAction], None]
REGISTRARS: list[Registrar] = []
