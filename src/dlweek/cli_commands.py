"""Registrars for the sub-commands that belong to other modules (serve, export, course).

Each registrar adds one sub-parser whose handler imports its module lazily, so that
``dlweek --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

Registrar = Callable[[argparse._SubParsersAction], None]
REGISTRARS: list[Registrar] = []


def _register_course(sub: argparse._SubParsersAction) -> None:
    """``dlweek course``: run the day notebooks headlessly into a folder (``make course``)."""

    def handler(args: argparse.Namespace) -> int:
        from dlweek import course

        return course.main(args)

    parser = sub.add_parser("course", help="execute the seven notebooks (quick or full profile) "
                            "and write executed notebooks, HTML, figures, run records, summary.md")
    parser.add_argument("--profile", choices=("quick", "full"), default=None,
                        help="default: $DLWEEK_PROFILE, else full")
    parser.add_argument("--out", default="build/course", help="output folder")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="folder with dayN_*.ipynb (default: ./notebooks)")
    parser.add_argument("--days", default=None, help="only these days, e.g. 1,2")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=handler)


REGISTRARS.append(_register_course)


def _register_serving(sub: argparse._SubParsersAction) -> None:
    """``dlweek serve`` and ``dlweek export`` (see :mod:`dlweek.serving.commands`)."""
    from dlweek.serving.commands import register_export, register_serve

    register_serve(sub)
    register_export(sub)


REGISTRARS.append(_register_serving)
