"""Day 3: the same data in PyTorch — loaders, a small CIFAR-10 CNN, a training loop with tqdm.

This is the only dlweek module that imports ``torch`` (only Day 3 imports it). It takes the
very arrays :func:`dlweek.data.load_dataset` returns (``uint8`` NHWC) and turns them into
``float32`` NCHW tensors in ``[0, 1]`` — the layout PyTorch convolutions expect.

Example:
    >>> from dlweek.config import seed_everything                       # doctest: +SKIP
    >>> ds = load_dataset("cifar10")                                     # doctest: +SKIP
    >>> seed_everything(42)                                              # doctest: +SKIP
    >>> train_dl = make_loader(ds.x_train, ds.y_train, augment=True)     # doctest: +SKIP
    >>> val_dl = make_loader(ds.x_val, ds.y_val, shuffle=False)          # doctest: +SKIP
    >>> model = ConvNet(num_classes=10)                                  # doctest: +SKIP
    >>> history = train(model, train_dl, val_dl, epochs=15, learning_rate=3e-3)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from dlweek.config import DEFAULT_SEED

log = logging.getLogger(__name__)

# Per-channel statistics of the CIFAR-10 training set (pixels in [0, 1]).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


def pick_device(prefer: str | None = None) -> torch.device:
    """The best device here: ``cuda``, then Apple ``mps``, then ``cpu`` (or ``prefer``)."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """``uint8`` (N, H, W, C) images -> ``float32`` (N, C, H, W) in ``[0, 1]``."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"Expected images of shape (N, H, W, C), got {x.shape}.")
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float()
    return t / 255.0 if np.issubdtype(x.dtype, np.integer) else t


def channel_stats(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of ``uint8`` NHWC images, on the [0, 1] scale."""
    flat = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1]) / 255.0
    return tuple(flat.mean(axis=0).tolist()), tuple(flat.std(axis=0).tolist())


def augment_batch(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop (after ``padding`` pixels of reflection padding) and horizontal flip.

    Works on a whole NCHW batch; every image gets its own offsets and flip.
    """
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    if padding:
        padded = F.pad(x, (padding,) * 4, mode="reflect")
        dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
        dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
        x = torch.stack([padded[i, :, a:a + h, b:b + w] for i, (a, b) in
                         enumerate(zip(dy, dx, strict=True))])
    return x


class ArrayImages(Dataset):
    """Images and labels held as tensors, indexed a whole batch at a time (fast on CPU).

    Args:
        x: ``uint8`` NHWC images; ``y``: integer labels (or ``None``).
        mean, std: optional per-channel normalization (on the [0, 1] scale).
        augment: random crop + horizontal flip per batch (training only).
        seed: seeds the augmentation.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None, *,
                 mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 augment: bool = False, seed: int = DEFAULT_SEED) -> None:
        self.x = to_tensor(x)
        if mean is not None or std is not None:
            c = self.x.shape[1]
            m = torch.tensor(mean if mean is not None else [0.0] * c).view(1, c, 1, 1)
            s = torch.tensor(std if std is not None else [1.0] * c).view(1, c, 1, 1)
            self.x = (self.x - m) / s
        self.y = None if y is None else torch.as_tensor(np.asarray(y, dtype=np.int64).reshape(-1))
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"{len(self.x)} images but {len(self.y)} labels.")
        self.augment = augment
        self.generator = torch.Generator().manual_seed(seed + 1)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
        idx = torch.as_tensor(index)
        xb = self.x[idx]
        if self.augment and xb.ndim == 4:
            xb = augment_batch(xb, self.generator)
        return xb if self.y is None else (xb, self.y[idx])


def make_loader(x: np.ndarray, y: np.ndarray | None = None, *, batch_size: int = 128,
                shuffle: bool = True, seed: int = DEFAULT_SEED,
                mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                augment: bool = False) -> DataLoader:
    """A ``DataLoader`` over numpy arrays: ``uint8`` NHWC -> ``float32`` NCHW in [0, 1].

    Batches are sliced from one tensor (no per-image Python work). The same ``seed`` gives
    the same shuffling order and augmentation, epoch after epoch.

    Args:
        x, y: images (N, H, W, C) and integer labels (N,) (``y=None``: images only).
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: reshuffle every epoch (for training).
        seed: seeds shuffling and augmentation.
        mean, std: optional per-channel normalization, e.g. :data:`CIFAR10_MEAN`,
            :data:`CIFAR10_STD` or :func:`channel_stats` of the training images.
        augment: random crop (pad 4) + horizontal flip (for training natural images).
    """
    data = ArrayImages(x, y, mean=mean, std=std, augment=augment, seed=seed)
    base = (RandomSampler(data, generator=torch.Generator().manual_seed(seed)) if shuffle
            else SequentialSampler(data))
    return DataLoader(data, sampler=BatchSampler(base, batch_size, drop_last=False),
                      batch_size=None)


def _conv_bn(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class ConvNet(nn.Module):
    """A small, fast CIFAR-10 CNN: four conv-BN-ReLU blocks, each followed by max-pooling
    except the last, then global average pooling, dropout and a linear layer.

    ``32x32x3 -> conv w, pool -> conv 2w, pool -> conv 4w, pool -> conv 4w -> GAP -> dropout
    -> linear``. With ``width=32`` it has ~0.24 M parameters and costs ~13 M multiply-adds per
    image: an epoch over the 9,000 full-profile CIFAR-10 training images takes ~22 s on two
    idle CPU cores, and 15 epochs (crop + flip, ``learning_rate=3e-3``) reach ~0.70 test
    accuracy.

    Args:
        num_classes: output logits.
        in_channels: 3 for RGB, 1 for grayscale.
        width: channels of the first block (the others have 2x and 4x as many).
        dropout: before the classifier.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 32,
                 dropout: float = 0.3) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _conv_bn(in_channels, w), nn.MaxPool2d(2),
            _conv_bn(w, 2 * w), nn.MaxPool2d(2),
            _conv_bn(2 * w, 4 * w), nn.MaxPool2d(2),
            _conv_bn(4 * w, 4 * w),
        )
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                        nn.Dropout(dropout), nn.Linear(4 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def count_params(model: nn.Module) -> int:
    """Trainable parameters of a torch model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _batches(loader: DataLoader, device: torch.device) -> Any:
    for batch in loader:
        xb, yb = batch if isinstance(batch, (list, tuple)) else (batch, None)
        yield xb.to(device), (None if yb is None else yb.to(device))


@torch.no_grad()
def evaluate(model: nn.Module, loader: DataLoader,
             device: torch.device | str | None = None) -> dict[str, float]:
    """Mean cross-entropy and accuracy of ``model`` over a labelled loader."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    total, loss_sum, correct = 0, 0.0, 0
    for xb, yb in _batches(loader, device):
        logits = model(xb)
        loss_sum += float(F.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
        total += len(yb)
    if total == 0:
        raise ValueError("evaluate got an empty loader.")
    return {"loss": loss_sum / total, "accuracy": correct / total}


@torch.no_grad()
def predict_proba(model: nn.Module, loader: DataLoader,
                  device: torch.device | str | None = None) -> np.ndarray:
    """Softmax probabilities (N, K) as numpy, in the loader's order (use ``shuffle=False``)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    out = [F.softmax(model(xb), dim=1).cpu().numpy() for xb, _ in _batches(loader, device)]
    return np.concatenate(out)


def train(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None = None,
          *, epochs: int, learning_rate: float = 3e-3, device: torch.device | str | None = None,
          progress: bool = True, weight_decay: float = 5e-4, schedule: str | None = "onecycle",
          label_smoothing: float = 0.0, seed: int | None = None) -> dict[str, list[float]]:
    """Train with AdamW and (by default) a one-cycle learning-rate schedule.

    A tqdm bar runs over epochs (showing the last epoch's metrics) with an inner bar over
    batches (running loss and accuracy); the model ends in ``eval()`` mode.

    Args:
        model: a ``torch.nn.Module`` returning logits.
        train_loader, val_loader: from :func:`make_loader` (validation is optional).
        epochs: passes over the training data.
        learning_rate: the peak learning rate (``schedule="onecycle"``) or the constant one.
        device: default :func:`pick_device`.
        progress: show the tqdm bars.
        weight_decay: AdamW's decoupled weight decay.
        schedule: ``"onecycle"`` (warm-up then cosine decay, per batch) or ``None``.
        label_smoothing: passed to ``F.cross_entropy``.
        seed: if given, ``torch.manual_seed(seed)`` first (dropout); the loaders have their own.

    Returns:
        ``{"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr"}`` per epoch (the
        val keys only with a validation loader) — :func:`dlweek.evaluation.plot_history`
        draws it.
    """
    from tqdm.auto import tqdm

    if seed is not None:
        torch.manual_seed(seed)
    device = pick_device() if device is None else torch.device(device)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate,
                                  weight_decay=weight_decay)
    steps = len(train_loader)
    scheduler: Any = None
    if schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=learning_rate, epochs=epochs, steps_per_epoch=steps,
            pct_start=0.25)
    elif schedule is not None:
        raise ValueError(f"Unknown schedule {schedule!r}; use 'onecycle' or None.")
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "seconds": [], "lr": []}
    if val_loader is not None:
        history["val_loss"], history["val_accuracy"] = [], []
    epoch_bar = tqdm(range(epochs), disable=not progress, desc="training", unit="epoch")
    for epoch in epoch_bar:
        start = time.perf_counter()
        model.train()
        total, loss_sum, correct = 0, 0.0, 0
        bar = tqdm(_batches(train_loader, device), total=steps, disable=not progress,
                   desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False)
        for xb, yb in bar:
            optimizer.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            n = len(yb)
            total += n
            loss_sum += loss.item() * n
            correct += int((logits.argmax(1) == yb).sum())
            bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
        history["loss"].append(loss_sum / total)
        history["accuracy"].append(correct / total)
        history["lr"].append(optimizer.param_groups[0]["lr"])
        if val_loader is not None:
            metrics = evaluate(model, val_loader, device)
            history["val_loss"].append(metrics["loss"])
            history["val_accuracy"].append(metrics["accuracy"])
        history["seconds"].append(time.perf_counter() - start)
        summary = {k: round(v[-1], 4) for k, v in history.items() if k != "lr"}
        log.info("epoch %d/%d: %s", epoch + 1, epochs, summary)
        epoch_bar.set_postfix({k: f"{v:.3f}" for k, v in summary.items() if k != "seconds"})
    model.eval()
    return history
