"""The ``dlweek`` command line: thin wrappers around the library (no logic of its own).

    dlweek data list | verify [NAME] | fetch NAME | install-weights
    dlweek serve [--model ...] [--dev]
    dlweek export BUNDLE --format savedmodel OUT
    dlweek course [--profile quick|full] [--out build/course]
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from dlweek import __version__


def _data_list(args: argparse.Namespace) -> int:
    from dlweek import sources

    rows = []
    for name in sources.CANDIDATES:
        source, searched = sources.find_source(name)
        if source is None:
            rows.append((name, "missing", "-", "searched: " + "; ".join(searched)))
            continue
        try:
            source.verify()
            status = f"verified ({source.verified_by})"
        except sources.DatasetError as exc:
            status = f"FAILED: {exc}"
        rows.append((name, source.kind, status, str(source.root)))
    weights = sources.keras_weights_source()
    if weights is None:
        rows.append(("keras_weights", "missing", "-", "no keras_weights/ in DLWEEK_DATA_DIR"))
    else:
        try:
            weights.verify()
            status = "verified (SHA256SUMS)"
        except sources.DatasetError as exc:
            status = f"FAILED: {exc}"
        rows.append(("keras_weights", weights.kind, status, str(weights.root)))
    width = max(len(r[0]) for r in rows)
    for name, kind, status, where in rows:
        print(f"{name:<{width}}  {kind:<11}  {status:<24}  {where}")
    return 0


def _data_verify(args: argparse.Namespace) -> int:
    from dlweek import sources

    names = [args.name] if args.name else list(sources.CANDIDATES)
    failed = 0
    for name in names:
        source, searched = sources.find_source(name)
        if source is None:
            print(f"{name}: NOT FOUND (searched: {'; '.join(searched)})")
            failed += 1
            continue
        try:
            checksum = source.verify()
            print(f"{name}: OK  {source.describe()}  sha256 {checksum[:16]}…  "
                  f"({len(source.files)} files, {source.verified_by})")
        except sources.DatasetError as exc:
            print(f"{name}: FAILED  {exc}")
            failed += 1
    return 1 if failed else 0


def _data_fetch(args: argparse.Namespace) -> int:
    from dlweek import sources

    try:
        where = sources.fetch(args.name)
    except sources.DatasetError as exc:
        print(f"error: could not fetch {args.name}: {exc}\nOffline? Point DLWEEK_DATA_DIR at a "
              "mirror instead (see README, 'Data').", file=sys.stderr)
        return 1
    print(f"{args.name}: downloaded into {where}")
    return 0


def _data_install_weights(args: argparse.Namespace) -> int:
    from dlweek import sources

    installed = sources.install_keras_weights()
    if not installed:
        print("error: no keras_weights/ with SHA256SUMS in DLWEEK_DATA_DIR", file=sys.stderr)
        return 1
    for path in installed:
        print(f"installed {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlweek", description="dlweek: a seven-day deep-"
                                     "learning workbook that really runs.")
    parser.add_argument("--version", action="version", version=f"dlweek {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="find, verify and fetch the course datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)
    dsub.add_parser("list", help="each dataset: where it was found, verified or not"
                    ).set_defaults(func=_data_list)
    verify = dsub.add_parser("verify", help="check checksums; non-zero exit on any failure")
    verify.add_argument("name", nargs="?", help="one dataset (default: all)")
    verify.set_defaults(func=_data_verify)
    fetch = dsub.add_parser("fetch", help="download a dataset into the Keras cache")
    fetch.add_argument("name")
    fetch.set_defaults(func=_data_fetch)
    dsub.add_parser("install-weights", help="copy the mirror's ImageNet weights into "
                    "$KERAS_HOME/models").set_defaults(func=_data_install_weights)

    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands() -> list:
    """Sub-commands owned by other modules (imported lazily when they run)."""
    from dlweek import cli_commands

    return cli_commands.REGISTRARS


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
