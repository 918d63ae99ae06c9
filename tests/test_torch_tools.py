"""Day 3's PyTorch tools: loaders from the numpy arrays, the CNN, a loop that learns, seeds."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from dlweek import torch_tools as tt  # noqa: E402
from dlweek.config import seed_everything  # noqa: E402
from dlweek.data import load_dataset  # noqa: E402


@pytest.fixture(scope="module")
def cifar(mirror):
    return load_dataset("cifar10", profile="quick")


def test_pick_device():
    device = tt.pick_device()
    assert isinstance(device, torch.device)
    assert device.type == ("cuda" if torch.cuda.is_available() else device.type)
    assert tt.pick_device("cpu") == torch.device("cpu")


def test_make_loader_converts_uint8_nhwc_to_float_nchw(cifar):
    x, y = cifar.x_train[:300], cifar.y_train[:300]
    loader = tt.make_loader(x, y, batch_size=128, shuffle=False)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [128, 128, 44]
    xb, yb = batches[0]
    assert xb.dtype == torch.float32 and tuple(xb.shape) == (128, 3, 32, 32)
    assert yb.dtype == torch.int64
    np.testing.assert_allclose(xb[5].permute(1, 2, 0).numpy(), x[5] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(yb.numpy(), y[:128])
    gray = tt.make_loader(np.zeros((4, 28, 28, 1), np.uint8), None, batch_size=4)
    assert tuple(next(iter(gray)).shape) == (4, 1, 28, 28)


def test_normalization_and_channel_stats(cifar):
    x = cifar.x_train[:500]
    mean, std = tt.channel_stats(x)
    assert len(mean) == len(std) == 3
    xb, _ = next(iter(tt.make_loader(x, cifar.y_train[:500], batch_size=500, shuffle=False,
                                     mean=mean, std=std)))
    np.testing.assert_allclose(xb.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=1e-4)
    np.testing.assert_allclose(xb.std(dim=(0, 2, 3)).numpy(), 1.0, atol=1e-2)


def test_shuffling_and_augmentation_are_seeded(cifar):
    x, y = cifar.x_train[:256], cifar.y_train[:256]

    def first(seed):
        return next(iter(tt.make_loader(x, y, batch_size=64, seed=seed, augment=True)))

    (a, ya), (b, yb), (_, yc) = first(1), first(1), first(2)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    assert not torch.equal(ya, yc)
    assert tuple(a.shape) == (64, 3, 32, 32)


def test_augment_batch_flips_and_crops():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).view(2, 1, 4, 4)
    gen = torch.Generator().manual_seed(0)
    flipped = tt.augment_batch(x, gen, padding=0)
    for i in range(2):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))
    out = tt.augment_batch(x, gen, padding=1)
    assert out.shape == x.shape


def test_convnet_shapes():
    model = tt.ConvNet(num_classes=10)
    assert tuple(model(torch.zeros(2, 3, 32, 32)).shape) == (2, 10)
    assert tuple(tt.ConvNet(5, in_channels=1, width=8)(torch.zeros(3, 1, 28, 28)).shape) == (3, 5)
    assert 100_000 < tt.count_params(model) < 1_000_000


@pytest.fixture()
def one_thread():
    """One intra-op thread: small models train faster so on a shared, busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(cifar, seed=0):
    seed_everything(seed, keras=False)  # seeds torch (already imported) -> same init
    model = tt.ConvNet(num_classes=10, width=8)
    train_dl = tt.make_loader(cifar.x_train[:1000], cifar.y_train[:1000], batch_size=50,
                              seed=seed, augment=False)
    val_dl = tt.make_loader(cifar.x_val[:300], cifar.y_val[:300], batch_size=300,
                            shuffle=False)
    hist = tt.train(model, train_dl, val_dl, epochs=3, learning_rate=3e-3, device="cpu",
                    progress=False)
    return model, hist, val_dl


def test_train_learns_and_is_reproducible(cifar, one_thread):
    model, hist, val_dl = _run(cifar)
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "lr"}
    assert len(hist["loss"]) == 3
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["val_accuracy"][-1] > 0.2, hist  # chance is 0.1
    assert not model.training
    metrics = tt.evaluate(model, val_dl)
    assert metrics["accuracy"] == pytest.approx(hist["val_accuracy"][-1])
    proba = tt.predict_proba(model, val_dl)
    assert proba.shape == (300, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert (proba.argmax(1) == cifar.y_val[:300]).mean() == pytest.approx(metrics["accuracy"])

    model2, hist2, _ = _run(cifar)
    assert hist2["loss"] == hist["loss"] and hist2["val_accuracy"] == hist["val_accuracy"]
    for p, q in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(p, q)


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="labels"):
        tt.make_loader(np.zeros((3, 8, 8, 3), np.uint8), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="schedule"):
        tt.train(tt.ConvNet(width=4), tt.make_loader(np.zeros((2, 8, 8, 3), np.uint8),
                                                     np.zeros(2, np.int64)),
                 epochs=1, schedule="cosine", progress=False)
