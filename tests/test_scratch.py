"""The Day 1 NumPy network: derivatives, gradient check, agreement with TensorFlow, learning."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlweek import scratch
from dlweek.data import load_dataset
from dlweek.scratch import ScratchMLP, gradient_check


@pytest.fixture(scope="module")
def mnist(mirror):
    return load_dataset("mnist", profile="quick")


def _numeric(f, z, eps=1e-6):
    return (f(z + eps) - f(z - eps)) / (2 * eps)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_derivatives_match_finite_differences(name):
    f, df = scratch.ACTIVATIONS[name]
    z = np.linspace(-4, 4, 81) + 0.013  # avoid ReLU's kink at exactly 0
    np.testing.assert_allclose(df(z), _numeric(f, z), atol=1e-8)


def test_sigmoid_is_stable_and_softmax_sums_to_one():
    assert np.all(np.isfinite(scratch.sigmoid(np.array([-1000.0, 0.0, 1000.0]))))
    s = scratch.softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    z = np.array([0.3, -1.2, 2.0])
    jac = np.stack([_numeric(lambda v, i=i: scratch.softmax(np.where(np.arange(3) == i, v, z)),
                             z[i]) for i in range(3)], axis=1)
    np.testing.assert_allclose(scratch.softmax_grad(z), jac, atol=1e-8)


def test_losses():
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(5, 4)), np.array([0, 3, 1, 1, 2])
    loss, grad = scratch.softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(scratch.cross_entropy(scratch.softmax(logits), y))
    np.testing.assert_allclose(grad, (scratch.softmax(logits) - scratch.one_hot(y, 4)) / 5)
    pred, target = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    assert scratch.mse(pred, target) == pytest.approx(np.mean((pred - target) ** 2))
    num = _numeric(lambda v: scratch.mse(np.array([[v, pred[0, 1]], *pred[1:]]), target),
                   pred[0, 0])
    assert scratch.mse_grad(pred, target)[0, 0] == pytest.approx(num, rel=1e-6)


def test_prepare_inputs_flattens_and_scales(mnist):
    x = scratch.prepare_inputs(mnist.x_train[:4])
    assert x.shape == (4, 784) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_gradient_check_full_small_net(activation):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 7)), rng.integers(0, 4, size=6)
    net = ScratchMLP((7, 5, 6, 4), activation=activation, dtype=np.float64, seed=3)
    assert gradient_check(net, x, y, eps=1e-6) < 1e-6


def test_gradient_check_on_mnist_batch(mnist):
    net = ScratchMLP((784, 32, 16, 10), seed=1)  # float32 model: checked on a float64 copy
    err = gradient_check(net, mnist.x_train[:16], mnist.y_train[:16], max_per_param=40)
    assert err < 1e-6
    assert net.dtype == np.float32  # the model itself is untouched


def test_gradient_check_catches_a_wrong_gradient(monkeypatch):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 7)), rng.integers(0, 4, size=6)
    net = ScratchMLP((7, 5, 4), activation="tanh", dtype=np.float64)
    monkeypatch.setitem(scratch.ACTIVATIONS, "tanh", (scratch.tanh, scratch.sigmoid_grad))
    bad = ScratchMLP((7, 5, 4), activation="tanh", dtype=np.float64)
    bad.params = [p.copy() for p in net.params]
    assert gradient_check(bad, x, y) > 1e-3


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_gradients_match_tensorflow(mnist, activation):
    tf = pytest.importorskip("tensorflow")
    net = ScratchMLP((784, 24, 12, 10), activation=activation, dtype=np.float64, seed=5)
    x, y = mnist.x_train[:32], mnist.y_train[:32]
    loss, grads = net.gradients(x, y)
    variables = [tf.Variable(p) for p in net.params]
    act = {"relu": tf.nn.relu, "tanh": tf.tanh}[activation]
    with tf.GradientTape() as tape:
        a = tf.constant(scratch.prepare_inputs(x, np.float64))
        for i in range(0, len(variables), 2):
            a = a @ variables[i] + variables[i + 1]
            if i + 2 < len(variables):
                a = act(a)
        tf_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, a))
    tf_grads = tape.gradient(tf_loss, variables)
    assert loss == pytest.approx(float(tf_loss), rel=1e-12)
    for ours, theirs in zip(grads, tf_grads, strict=True):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12)


def test_mlp_learns_quick_mnist_and_is_reproducible(mnist):
    def run():
        net = ScratchMLP((784, 64, 10), seed=7)
        hist = net.fit(mnist.x_train, mnist.y_train, epochs=3, batch_size=64,
                       learning_rate=0.1, x_val=mnist.x_val, y_val=mnist.y_val)
        return net, hist

    net, hist = run()
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert len(hist["loss"]) == 3 and hist["loss"][-1] < hist["loss"][0]
    acc = net.evaluate(mnist.x_test, mnist.y_test)["accuracy"]
    assert acc > 0.8, acc  # chance is 0.1
    proba = net.predict_proba(mnist.x_test[:10])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(net.predict(mnist.x_test[:10]), proba.argmax(axis=1))
    net2, hist2 = run()
    assert hist2["loss"] == hist["loss"]
    for a, b in zip(net.params, net2.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_sgd_step_lowers_the_loss(mnist):
    net = ScratchMLP((784, 32, 10), seed=0)
    x, y = mnist.x_train[:64], mnist.y_train[:64]
    before = net.loss(x, y)
    for _ in range(5):
        net.sgd_step(x, y, learning_rate=0.1)
    assert net.loss(x, y) < before


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="activation"):
        ScratchMLP((4, 2), activation="swish")
    with pytest.raises(ValueError, match="expects 4"):
        ScratchMLP((4, 2)).forward(np.zeros((1, 5)))
    with pytest.raises(RuntimeError, match="forward"):
        ScratchMLP((4, 2)).backward(np.zeros(1, int))


def test_scratch_does_not_import_keras_or_tensorflow():
    code = ("import sys, dlweek.scratch; "
            "bad = [m for m in ('keras', 'tensorflow', 'torch') if m in sys.modules]; "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
