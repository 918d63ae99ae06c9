"""Where dataset files come from, and proof that they are the right bytes.

Every dataset is looked for in this order, and the first place that has it wins:

1. the offline mirror ``$DLWEEK_DATA_DIR`` (layout of ``shared/data``; checked against the
   ``SHA256SUMS`` beside the files),
2. the Keras cache ``$KERAS_HOME/datasets`` in Keras's own file layout (checked against the
   official hashes pinned here),
3. the Debian package location (Fashion-MNIST: ``/usr/share/datasets/fashion-mnist``,
   checked against dpkg's own record),
4. a download through ``keras.utils.get_file`` with the pinned hash, written atomically into
   the Keras cache (never into a mirror).

A file that is present but fails its checksum raises :class:`ChecksumError` at once; it is
never loaded and never skipped silently.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from dlweek import config

log = logging.getLogger(__name__)

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DPKG_INFO_DIR = Path("/var/lib/dpkg/info")
_KERAS_DATA = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
# Official hashes: Keras's own mnist.npz sha256 and CIFAR-10 archive sha256; Zalando's md5s.
OFFICIAL_HASHES: dict[str, str] = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# Debian re-compresses the same IDX files; these are dataset-fashion-mnist's .gz files.
DEBIAN_HASHES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
CATS_DOGS_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


class DatasetError(RuntimeError):
    """Base class for every data problem dlweek reports."""


class DatasetNotFoundError(DatasetError):
    """No source has the dataset, and it could not be downloaded."""


class ChecksumError(DatasetError):
    """A file is present but its bytes are not the ones expected (truncated or tampered)."""


class DatasetFormatError(DatasetError):
    """A file has the right name but the wrong content (shape, dtype, label range)."""


@dataclass(frozen=True)
class Source:
    """One place that holds every file of a dataset.

    Attributes:
        dataset: registry name, e.g. ``"mnist"``.
        kind: ``"mirror"``, ``"keras-cache"``, ``"debian"`` or ``"download"``.
        root: the folder the files are in.
        files: the files, relative to ``root``.
        expected: per file, the digest the bytes must have (sha256, or md5 when 32 hex
            digits); a file without one is checked by structure only.
        hash_origin: where ``expected`` came from (``SHA256SUMS``, ``pinned``, ``dpkg``).
    """

    dataset: str
    kind: str
    root: Path
    files: tuple[str, ...]
    expected: dict[str, str] = field(default_factory=dict)
    hash_origin: str = "pinned"

    def paths(self) -> list[Path]:
        return [self.root / f for f in self.files]

    def verify(self) -> str:
        """Check every file's digest; return one sha256 that identifies the whole dataset.

        Raises:
            ChecksumError: naming the first file whose digest differs.
        """
        combined = hashlib.sha256()
        for rel in self.files:
            path = self.root / rel
            want = self.expected.get(rel)
            if want is None and self.hash_origin == "SHA256SUMS":
                raise ChecksumError(
                    f"{path} is not listed in {self.root / 'SHA256SUMS'}, so it cannot be "
                    "verified. Restore the mirror from its source."
                )
            sha = file_digest(path, "sha256")
            got = sha if want is None or len(want) == 64 else file_digest(path, "md5")
            if want is not None and got != want.lower():
                raise ChecksumError(
                    f"Checksum failed for {path}: expected {want} ({self.hash_origin}), got "
                    f"{got}. The file is truncated or altered; delete it and run "
                    f"`dlweek data fetch {self.dataset}`, or restore the mirror copy."
                )
            combined.update(f"{rel}:{sha}\n".encode())
        return combined.hexdigest()

    @property
    def verified_by(self) -> str:
        return self.hash_origin if self.expected else "structure only"

    def describe(self) -> str:
        return f"{self.kind}: {self.root}"


_DIGESTS: dict[tuple[str, str, int, int], str] = {}


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks and memoised by (path, size, mtime)."""
    st = path.stat()
    key = (str(path.resolve()), algorithm, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.new(algorithm)
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def read_sha256sums(folder: Path) -> dict[str, str]:
    """Parse ``folder/SHA256SUMS`` (``sha256sum`` format) into ``{relative path: digest}``."""
    manifest = folder / "SHA256SUMS"
    if not manifest.is_file():
        return {}
    sums: dict[str, str] = {}
    for line in manifest.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*").removeprefix("./")] = digest.lower()
    return sums


def _mirror_source(dataset: str, folder: str, files: Iterable[str]) -> Source | None:
    root_dir = config.data_dir()
    if root_dir is None:
        return None
    root = root_dir / folder
    files = tuple(files)
    if not files or not all((root / f).is_file() for f in files):
        return None
    sums = read_sha256sums(root)
    if sums:
        return Source(dataset, "mirror", root, files, sums, "SHA256SUMS")
    pinned = {f: OFFICIAL_HASHES[Path(f).name] for f in files if Path(f).name in OFFICIAL_HASHES}
    return Source(dataset, "mirror", root, files, pinned, "pinned")


def _listed_images(root: Path) -> tuple[str, ...]:
    """Image files below ``root`` as sorted relative POSIX paths."""
    if not root.is_dir():
        return ()
    found = (
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    return tuple(sorted(found))


def _keras_datasets() -> Path:
    return config.keras_home() / "datasets"


def _fixed_source(dataset: str, kind: str, root: Path, files: tuple[str, ...],
                  hashes: dict[str, str], origin: str = "pinned") -> Source | None:
    if not all((root / f).is_file() for f in files):
        return None
    return Source(dataset, kind, root, files, {f: hashes[Path(f).name] for f in files}, origin)


def _dpkg_md5s(package: str) -> dict[str, str]:
    record = DPKG_INFO_DIR / f"{package}.md5sums"
    if not record.is_file():
        return {}
    out = {}
    for line in record.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        out[Path(name).name] = digest
    return out


# --- the candidates of each dataset, in search order -------------------------------------

def _mnist_candidates() -> list[tuple[str, Callable[[], Source | None]]]:
    cache = _keras_datasets()
    return [
        (f"$DLWEEK_DATA_DIR/mnist/mnist.npz ({config.data_dir() or 'DLWEEK_DATA_DIR unset'})",
         lambda: _mirror_source("mnist", "mnist", ["mnist.npz"])),
        (f"Keras cache {cache / 'mnist.npz'}",
         lambda: _fixed_source("mnist", "keras-cache", cache, ("mnist.npz",), OFFICIAL_HASHES)),
    ]


def _fashion_candidates() -> list[tuple[str, Callable[[], Source | None]]]:
    cache = _keras_datasets() / "fashion-mnist"

    def debian() -> Source | None:
        dpkg = _dpkg_md5s("dataset-fashion-mnist")
        if dpkg and all(f in dpkg for f in FASHION_FILES):
            return _fixed_source("fashion_mnist", "debian", DEBIAN_FASHION_DIR, FASHION_FILES,
                                 dpkg, "dpkg")
        return _fixed_source("fashion_mnist", "debian", DEBIAN_FASHION_DIR, FASHION_FILES,
                             DEBIAN_HASHES)

    return [
        (f"$DLWEEK_DATA_DIR/fashion_mnist/*.gz ({config.data_dir() or 'DLWEEK_DATA_DIR unset'})",
         lambda: _mirror_source("fashion_mnist", "fashion_mnist", FASHION_FILES)),
        (f"Keras cache {cache}/*.gz",
         lambda: _fixed_source("fashion_mnist", "keras-cache", cache, FASHION_FILES,
                               OFFICIAL_HASHES)),
        (f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_DIR})", debian),
    ]


def _cifar_candidates() -> list[tuple[str, Callable[[], Source | None]]]:
    cache = _keras_datasets()
    return [
        (f"$DLWEEK_DATA_DIR/cifar10/cifar10.npz ({config.data_dir() or 'DLWEEK_DATA_DIR unset'})",
         lambda: _mirror_source("cifar10", "cifar10", ["cifar10.npz"])),
    ] + [
        # dlweek's own download name, then Keras 3's name for the same archive.
        (f"Keras cache {cache / name}",
         lambda name=name: _fixed_source("cifar10", "keras-cache", cache, (name,),
                                         {name: OFFICIAL_HASHES["cifar-10-python.tar.gz"]}))
        for name in ("cifar-10-batches-py.tar.gz", "cifar-10-batches-py-target")
    ]


def _cats_candidates() -> list[tuple[str, Callable[[], Source | None]]]:
    cache = _keras_datasets() / "cats_and_dogs_filtered"

    def mirror() -> Source | None:
        root = config.data_dir()
        return None if root is None else _mirror_source(
            "cats_vs_dogs", "cats_vs_dogs", _listed_images(root / "cats_vs_dogs"))

    def keras_cache() -> Source | None:
        files = _listed_images(cache)
        # The archive publishes no hash: its files are checked by structure (counts, decoding).
        return Source("cats_vs_dogs", "keras-cache", cache, files, {}, "none") if files else None

    return [
        (f"$DLWEEK_DATA_DIR/cats_vs_dogs/ ({config.data_dir() or 'DLWEEK_DATA_DIR unset'})",
         mirror),
        (f"Keras cache {cache}/", keras_cache),
    ]


CANDIDATES: dict[str, Callable[[], list[tuple[str, Callable[[], Source | None]]]]] = {
    "mnist": _mnist_candidates,
    "fashion_mnist": _fashion_candidates,
    "cifar10": _cifar_candidates,
    "cats_vs_dogs": _cats_candidates,
}
FIX_HINT = {
    "mnist": "dlweek data fetch mnist",
    "fashion_mnist": "sudo apt-get install dataset-fashion-mnist "
                     "(or: dlweek data fetch fashion_mnist)",
    "cifar10": "dlweek data fetch cifar10",
    "cats_vs_dogs": "dlweek data fetch cats_vs_dogs",
}


def downloads_allowed() -> bool:
    """False when ``$DLWEEK_OFFLINE`` is set to a true value (tests and CI set it)."""
    return os.environ.get("DLWEEK_OFFLINE", "").lower() not in ("1", "true", "yes")


def find_source(name: str) -> tuple[Source | None, list[str]]:
    """The first place holding ``name``, and the list of places searched (for messages)."""
    if name not in CANDIDATES:
        raise DatasetError(f"Unknown dataset {name!r}; known: {', '.join(CANDIDATES)}.")
    searched = []
    for label, probe in CANDIDATES[name]():
        searched.append(label)
        source = probe()
        if source is not None:
            return source, searched
    return None, searched


def locate(name: str, *, download: bool | None = None) -> Source:
    """Find ``name``, downloading it into the Keras cache if allowed and nothing has it.

    Raises:
        DatasetNotFoundError: listing every place searched and the command that fixes it.
    """
    source, searched = find_source(name)
    if source is not None:
        return source
    allowed = downloads_allowed() if download is None else download
    reason = "downloads are disabled (DLWEEK_OFFLINE=1)"
    if allowed:
        try:
            fetch(name)
            source, _ = find_source(name)
            if source is not None:
                return source
            reason = "the download finished but left no usable files"
        except DatasetError as exc:
            reason = f"the download failed: {exc}"
    places = "\n".join(f"  - {p}" for p in searched)
    raise DatasetNotFoundError(
        f"Dataset {name!r} was not found, and {reason}.\nSearched, in order:\n{places}\n"
        f"Fix: point DLWEEK_DATA_DIR at an offline mirror (layout of shared/data), "
        f"or run: {FIX_HINT[name]}"
    )


def fetch(name: str) -> Path:
    """Download ``name`` with its pinned hash into the Keras cache; return the folder.

    The download goes to a temporary folder beside the cache and is moved into place with
    one rename, so an interrupted download never leaves a half-written file behind.
    """
    import keras  # noqa: PLC0415  (heavy, and only needed when downloading)

    target = _keras_datasets()
    target.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, str, str | None, str]] = {
        "mnist": [("mnist.npz", _KERAS_DATA + "mnist.npz", OFFICIAL_HASHES["mnist.npz"], "")],
        "fashion_mnist": [(f, _KERAS_DATA + "fashion-mnist/" + f, OFFICIAL_HASHES[f],
                           "fashion-mnist") for f in FASHION_FILES],
        "cifar10": [("cifar-10-batches-py.tar.gz",
                     "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                     OFFICIAL_HASHES["cifar-10-python.tar.gz"], "")],
        "cats_vs_dogs": [("cats_and_dogs_filtered.zip", CATS_DOGS_URL, None, "")],
    }[name]
    with tempfile.TemporaryDirectory(dir=target, prefix=".download-") as tmp:
        for fname, url, digest, subdir in jobs:
            try:
                got = keras.utils.get_file(fname, origin=url, file_hash=digest,
                                           cache_dir=tmp, cache_subdir=".")
            except Exception as exc:  # get_file raises bare Exception subclasses of many kinds
                raise DatasetError(f"could not download {url} ({type(exc).__name__}: {exc})") \
                    from exc
            final = target / subdir / fname
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(got, final)
            if fname.endswith(".zip"):
                _extract_atomically(final, target)
    log.info("downloaded %s into %s", name, target)
    return target


def _extract_atomically(archive: Path, target: Path) -> None:
    import zipfile

    with tempfile.TemporaryDirectory(dir=target, prefix=".extract-") as tmp:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise ChecksumError(f"{archive} is corrupt (member {bad} fails its CRC).")
            zf.extractall(tmp)
        for child in Path(tmp).iterdir():
            dest = target / child.name
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(child, dest)


# --- ImageNet weights for keras.applications --------------------------------------------

def install_keras_weights(mirror: Path | None = None) -> list[Path]:
    """Make the mirror's ImageNet weights and class index visible to ``keras.applications``.

    Copies ``<mirror>/keras_weights/*.h5|*.json`` (after checking their ``SHA256SUMS``) into
    ``$KERAS_HOME/models``, where Keras looks before downloading. Files already there with
    the same bytes are left alone. Returns the installed paths (empty if no mirror).
    """
    root = (mirror or config.data_dir() or Path("/nonexistent")) / "keras_weights"
    sums = read_sha256sums(root)
    files = tuple(sorted(n for n in sums if n.endswith((".h5", ".json"))))
    if not files:
        return []
    Source("keras_weights", "mirror", root, files, sums, "SHA256SUMS").verify()
    models = config.keras_home() / "models"
    models.mkdir(parents=True, exist_ok=True)
    installed = []
    for name in files:
        dest = models / name
        if not dest.is_file() or file_digest(dest) != sums[name]:
            with tempfile.NamedTemporaryFile(dir=models, delete=False) as tmp:
                shutil.copyfile(root / name, tmp.name)
            os.replace(tmp.name, dest)
        installed.append(dest)
    return installed


def keras_weights_source() -> Source | None:
    """The mirror's weights folder as a Source (for ``dlweek data list``), if present."""
    root = config.data_dir()
    if root is None:
        return None
    sums = read_sha256sums(root / "keras_weights")
    files = tuple(sorted(n for n in sums if (root / "keras_weights" / n).is_file()))
    return Source("keras_weights", "mirror", root / "keras_weights", files, sums,
                  "SHA256SUMS") if files else None
