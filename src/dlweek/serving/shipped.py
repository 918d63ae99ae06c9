"""Train the bundles that ship inside the package (``src/dlweek/serving/bundles/``).

``build_shipped_bundles()`` runs the course's own recipes —
:func:`dlweek.recipes.cats_dogs_transfer` (MobileNet α=0.25, ImageNet-pretrained, on the
cats-vs-dogs photos) and
:func:`dlweek.recipes.cifar10_cnn` — and saves each as a bundle with its data checksum and
metrics. For the cats-vs-dogs bundle it also measures accuracy *through the serving path*
(every validation photo read from its file by :meth:`dlweek.bundle.Bundle.preprocess`) and
records it as ``serving_accuracy``. The Day 7 notebook calls the same function.

    python -m dlweek.serving.shipped --out src/dlweek/serving/bundles --profile full
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dlweek import config
from dlweek.bundle import SHIPPED_DIR, load_bundle, save_bundle

log = logging.getLogger(__name__)

SHIPPED = {
    "cats_vs_dogs": {"recipe": "cats_dogs_transfer", "dataset": "cats_vs_dogs",
                     "description": "Cats vs dogs in everyday photos: ImageNet-pretrained "
                                    "MobileNet alpha=0.25 + new head (transfer learning)."},
    "cifar10_cnn": {"recipe": "cifar10_cnn", "dataset": "cifar10",
                    "description": "CIFAR-10 (32x32 photos of 10 classes): the course's small "
                                   "CNN with flip/shift augmentation."},
}


def serving_accuracy(bundle_dir: Path, files: Sequence[Path], labels: Sequence[int],
                     batch_size: int = 64) -> float:
    """Accuracy of a saved bundle on image files, through ``Bundle.preprocess`` (serving)."""
    bundle = load_bundle(bundle_dir)
    correct = 0
    for start in range(0, len(files), batch_size):
        chunk = files[start:start + batch_size]
        batch = np.concatenate([bundle.preprocess(f) for f in chunk])
        pred = bundle.predict_proba(batch).argmax(axis=1)
        correct += int((pred == np.asarray(labels[start:start + batch_size])).sum())
    return correct / max(1, len(files))


def validation_files(dataset: str = "cats_vs_dogs") -> tuple[list[Path], list[int]]:
    """Every file of the mirror's ``validation/`` split with its label index."""
    from dlweek.data import SPECS
    from dlweek.sources import locate

    source = locate(dataset)
    classes = SPECS[dataset].class_names
    rel = [f for f in source.files if f.split("/")[0] == "validation"]
    return [source.root / f for f in rel], [classes.index(f.split("/")[1]) for f in rel]


def build_shipped_bundles(out_dir: str | Path = SHIPPED_DIR, profile: str | None = "full",
                          seed: int = config.DEFAULT_SEED, names: Sequence[str] | None = None,
                          epochs: int | None = None, verbose: Any = 0) -> dict[str, Path]:
    """Train and save the shipped bundles; return ``{name: bundle folder}``.

    Args:
        out_dir: where the bundle folders go (default: inside the installed package).
        profile: ``"full"`` for the real bundles, ``"quick"`` for a smoke test.
        seed: the recipes' seed.
        names: a subset of ``SHIPPED`` (default: all).
        epochs: override the recipes' epochs (tests).
        verbose: Keras verbosity while training.
    """
    from dlweek import recipes

    out = Path(out_dir)
    built: dict[str, Path] = {}
    for name in names or SHIPPED:
        info = SHIPPED[name]
        t0 = time.perf_counter()
        result = recipes.RECIPES[info["recipe"]](profile=profile, seed=seed, epochs=epochs,
                                                 verbose=verbose)
        ds = result.dataset
        metrics = {f"test_{k}": float(v) for k, v in result.test_metrics.items()}
        path = save_bundle(
            result.model, out / name, name=name, class_names=ds.class_names,
            input_size=ds.input_shape[:2], color_mode="rgb" if ds.input_shape[2] == 3
            else "grayscale", dataset=ds, metrics=metrics, description=info["description"],
            extra={"recipe": f"dlweek.recipes.{info['recipe']}", "params": result.params,
                   "epochs": result.epochs, "train_seconds": round(result.seconds, 1)})
        if name == "cats_vs_dogs":
            files, labels = validation_files()
            acc = serving_accuracy(path, files, labels)
            metrics["serving_accuracy"] = acc
            metrics["serving_images"] = float(len(files))
            path = save_bundle(
                result.model, path, name=name, class_names=ds.class_names,
                input_size=ds.input_shape[:2], color_mode="rgb", dataset=ds, metrics=metrics,
                description=info["description"],
                extra={"recipe": f"dlweek.recipes.{info['recipe']}", "params": result.params,
                       "epochs": result.epochs, "train_seconds": round(result.seconds, 1),
                       "serving_accuracy_on": "every photo of the mirror's validation/ folder, "
                                              "read through Bundle.preprocess"})
        size = (path / "model.keras").stat().st_size
        log.info("bundle %s: %s, %.2f MB, %.0f s", name, metrics, size / 1e6,
                 time.perf_counter() - t0)
        built[name] = path
    return built


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(SHIPPED_DIR))
    parser.add_argument("--profile", default="full", choices=("quick", "full"))
    parser.add_argument("--seed", type=int, default=config.DEFAULT_SEED)
    parser.add_argument("--only", action="append", choices=tuple(SHIPPED))
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    built = build_shipped_bundles(args.out, args.profile, args.seed, args.only, args.epochs,
                                  verbose=2)
    for name, path in built.items():
        log.info("%s -> %s", name, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
