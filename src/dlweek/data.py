"""Datasets: load, verify, split, subset. Real data only, offline first.

``load_dataset("mnist")`` finds the files (see :mod:`dlweek.sources` for the search order),
verifies their bytes, checks shapes, dtypes and label ranges, and returns a
:class:`ArrayDataset` with a validation split carved from the training set by the seed
(never from the test set). In the ``quick`` profile every split is a class-balanced subset
small enough to train in seconds.

Images are ``uint8`` NHWC arrays (MNIST is ``(N, 28, 28, 1)``) and labels are ``int64``
class indices. Models scale pixels themselves (a ``Rescaling`` layer), so the raw pixels
here are exactly what the service feeds them.

Example:
    >>> ds = load_dataset("mnist", profile="quick")          # doctest: +SKIP
    >>> ds.x_train.shape, ds.num_classes                      # doctest: +SKIP
    ((3000, 28, 28, 1), 10)
"""

from __future__ import annotations

import gzip
import logging
import pickle
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dlweek import config
from dlweek.images import load_images
from dlweek.sources import DatasetFormatError, Source, locate

log = logging.getLogger(__name__)

MNIST_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CATS_DOGS_CLASSES = ("cats", "dogs")


@dataclass(frozen=True)
class SplitSizes:
    """How many examples each split gets in one profile (``None``: all that are left)."""

    train: int | None
    val: int
    test: int | None


@dataclass(frozen=True)
class Spec:
    """What a dataset is: its classes, image shape, sizes per profile and its reader."""

    name: str
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int]
    sizes: dict[str, SplitSizes]
    read: Callable[[Source], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None


@dataclass(frozen=True)
class ArrayDataset:
    """A dataset as numpy arrays, with where it came from.

    Attributes:
        x_train, y_train, x_val, y_val, x_test, y_test: ``uint8`` images (N, H, W, C) and
            ``int64`` labels (N,).
        class_names: label index → name.
        source: where the files were found, and how they were verified.
        checksum: one sha256 over every file read (recorded in run records and bundles).
        indices: the training-file indices behind ``train``/``val`` (they never overlap).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    profile: str
    seed: int
    source: Source
    checksum: str
    indices: dict[str, np.ndarray] = field(repr=False, default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def info(self) -> dict[str, object]:
        """The facts a run record or a bundle keeps about this data."""
        return {
            "name": self.name,
            "profile": self.profile,
            "seed": self.seed,
            "source": self.source.kind,
            "location": str(self.source.root),
            "verified_by": self.source.verified_by,
            "checksum": self.checksum,
            "sizes": {"train": len(self.y_train), "val": len(self.y_val),
                      "test": len(self.y_test)},
        }

    def __repr__(self) -> str:
        return (f"ArrayDataset({self.name!r}, profile={self.profile!r}, train={len(self.y_train)},"
                f" val={len(self.y_val)}, test={len(self.y_test)}, shape={self.input_shape},"
                f" source={self.source.kind})")


# --- readers ----------------------------------------------------------------------------

def _read_mnist_npz(source: Source) -> tuple[np.ndarray, ...]:
    with np.load(source.paths()[0], allow_pickle=False) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        return np.frombuffer(fh.read(), np.uint8, offset=offset)


def _read_fashion(source: Source) -> tuple[np.ndarray, ...]:
    files = dict(zip(("xtr", "ytr", "xte", "yte"), source.paths(), strict=True))
    return (_read_idx(files["xtr"], 16).reshape(-1, 28, 28), _read_idx(files["ytr"], 8),
            _read_idx(files["xte"], 16).reshape(-1, 28, 28), _read_idx(files["yte"], 8))


def _read_cifar(source: Source) -> tuple[np.ndarray, ...]:
    path = source.paths()[0]
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    batches: dict[str, dict] = {}
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            base = Path(member.name).name
            if base.startswith(("data_batch_", "test_batch")):
                # The archive's hash was verified above, so these pickles are the official ones.
                batches[base] = pickle.load(tar.extractfile(member), encoding="bytes")  # noqa: S301

    def arrays(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate([batches[n][b"data"] for n in names]).reshape(-1, 3, 32, 32)
        y = np.concatenate([batches[n][b"labels"] for n in names])
        return x.transpose(0, 2, 3, 1), y

    return (*arrays([f"data_batch_{i}" for i in range(1, 6)]), *arrays(["test_batch"]))


SPECS: dict[str, Spec] = {
    "mnist": Spec("mnist", MNIST_CLASSES, (28, 28, 1),
                  {"quick": SplitSizes(3000, 600, 1000), "full": SplitSizes(None, 5000, None)},
                  _read_mnist_npz),
    "fashion_mnist": Spec("fashion_mnist", FASHION_CLASSES, (28, 28, 1),
                          {"quick": SplitSizes(3000, 600, 1000),
                           "full": SplitSizes(None, 5000, None)}, _read_fashion),
    "cifar10": Spec("cifar10", CIFAR10_CLASSES, (32, 32, 3),
                    {"quick": SplitSizes(4000, 1000, 1000), "full": SplitSizes(None, 1000, None)},
                    _read_cifar),
    "cats_vs_dogs": Spec("cats_vs_dogs", CATS_DOGS_CLASSES, (224, 224, 3),
                         {"quick": SplitSizes(160, 100, None), "full": SplitSizes(None, 0, None)},
                         None),
}
DATASETS = tuple(SPECS)


# --- checks and splits ------------------------------------------------------------------

def _check(spec: Spec, source: Source, x: np.ndarray, y: np.ndarray, split: str) -> tuple[
        np.ndarray, np.ndarray]:
    """Normalise layout (NHWC, flat int64 labels) and refuse anything off-spec."""
    y = np.asarray(y).reshape(-1)
    if x.ndim == 3:
        x = x[..., None]
    problems = []
    if x.dtype != np.uint8:
        problems.append(f"images are {x.dtype}, expected uint8")
    if tuple(x.shape[1:]) != spec.image_shape:
        problems.append(f"images are {tuple(x.shape[1:])}, expected {spec.image_shape}")
    if len(x) != len(y) or len(y) == 0:
        problems.append(f"{len(x)} images but {len(y)} labels")
    if len(y) and (y.min() < 0 or y.max() >= len(spec.class_names)):
        problems.append(f"labels span {y.min()}..{y.max()}, expected 0..{len(spec.class_names)-1}")
    if problems:
        raise DatasetFormatError(
            f"{spec.name} {split} split from {source.describe()} is malformed: "
            f"{'; '.join(problems)}. Restore the files or run `dlweek data fetch {spec.name}`."
        )
    return x, y.astype(np.int64)


def balanced_subset(y: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` examples with (as far as possible) equal counts per class, sorted.

    ``n=None`` or ``n >= len(y)`` returns every index.
    """
    if n is None or n >= len(y):
        return np.arange(len(y))
    classes = np.unique(y)
    per_class, extra = divmod(n, len(classes))
    picked = []
    for i, c in enumerate(classes):
        members = np.flatnonzero(y == c)
        take = min(len(members), per_class + (1 if i < extra else 0))
        picked.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(picked))


def split_train_val(y: np.ndarray, sizes: SplitSizes, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Carve a class-balanced validation split out of the training labels by ``seed``.

    Returns ``(train_idx, val_idx)``; they are disjoint, and the same seed always gives the
    same split.
    """
    rng = np.random.default_rng(seed)
    val_idx = balanced_subset(y, sizes.val, rng)
    rest = np.setdiff1d(np.arange(len(y)), val_idx, assume_unique=True)
    train_idx = rest[balanced_subset(y[rest], sizes.train, rng)]
    return train_idx, val_idx


def load_dataset(name: str, *, profile: str | None = None, seed: int = config.DEFAULT_SEED,
                 download: bool | None = None) -> ArrayDataset:
    """Load a dataset as verified numpy arrays with train/val/test splits.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"`` or ``"cats_vs_dogs"``.
        profile: ``"quick"`` (class-balanced subsets) or ``"full"``; default
            ``$DLWEEK_PROFILE``.
        seed: decides the validation split (and the quick subsets); the test set is fixed.
        download: allow a download when no local source has the data (default: allowed
            unless ``$DLWEEK_OFFLINE`` is set).

    Raises:
        DatasetNotFoundError, ChecksumError, DatasetFormatError: see :mod:`dlweek.sources`.
    """
    if name == "cats_vs_dogs":
        return load_image_folder(name, profile=profile, seed=seed, download=download)
    if name not in SPECS:
        raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    spec, prof = SPECS[name], config.get_profile(profile)
    source = locate(name, download=download)
    checksum = source.verify()
    x_tr, y_tr, x_te, y_te = spec.read(source)  # type: ignore[misc]
    x_tr, y_tr = _check(spec, source, x_tr, y_tr, "train")
    x_te, y_te = _check(spec, source, x_te, y_te, "test")
    sizes = spec.sizes[prof]
    train_idx, val_idx = split_train_val(y_tr, sizes, seed)
    test_idx = balanced_subset(y_te, sizes.test, np.random.default_rng(0))
    log.info("loaded %s (%s) from %s", name, prof, source.describe())
    return ArrayDataset(
        name, x_tr[train_idx], y_tr[train_idx], x_tr[val_idx], y_tr[val_idx],
        x_te[test_idx], y_te[test_idx], spec.class_names, prof, seed, source, checksum,
        {"train": train_idx, "val": val_idx, "test": test_idx},
    )


def load_image_folder(name: str = "cats_vs_dogs", *, profile: str | None = None,
                      seed: int = config.DEFAULT_SEED, image_size: tuple[int, int] | None = None,
                      download: bool | None = None) -> ArrayDataset:
    """Load an image-folder dataset (``train/`` and ``validation/`` with a folder per class).

    Every image is decoded by :func:`dlweek.images.decode_image` (the same decoder the
    service uses) and resized to ``image_size`` (default: the spec's 224×224, the size the
    ImageNet MobileNet weights were trained at). The folder's ``validation`` split is
    returned as both ``val`` and ``test`` (the data has no third split); in the quick
    profile both are class-balanced subsets.
    """
    spec, prof = SPECS[name], config.get_profile(profile)
    source = locate(name, download=download)
    checksum = source.verify()
    size = image_size or spec.image_shape[:2]
    splits = {}
    for split, folder in (("train", "train"), ("val", "validation")):
        files = [f for f in source.files if f.split("/")[0] == folder]
        labels = np.array([spec.class_names.index(f.split("/")[1]) for f in files], np.int64)
        want = spec.sizes[prof].train if split == "train" else spec.sizes[prof].val or None
        idx = balanced_subset(labels, want, np.random.default_rng(seed))
        x = load_images([source.root / files[i] for i in idx], size)
        splits[split] = (x, labels[idx], idx)
    if not all(len(s[1]) for s in splits.values()):
        raise DatasetFormatError(f"{source.describe()} needs train/ and validation/ folders "
                                 f"with one sub-folder per class {spec.class_names}.")
    (xt, yt, it), (xv, yv, iv) = splits["train"], splits["val"]
    return ArrayDataset(name, xt, yt, xv, yv, xv, yv, spec.class_names, prof, seed, source,
                        checksum, {"train": it, "val": iv, "test": iv})
