"""Model builders: every classic the course meets, as plain, uncompiled ``keras.Model``s.

Every builder takes ``input_shape`` and ``num_classes`` and returns a model whose **first
layer rescales raw ``uint8`` pixels** (0..255), so training, evaluation and the service all
feed the same raw images. The last layer is a softmax over ``num_classes``; compile with
``sparse_categorical_crossentropy`` (see :func:`dlweek.training.compile_model`).

Parameter counts (trainable + non-trainable, for 10 classes) of each builder's defaults:

================  =====================  ======================
builder           MNIST (28, 28, 1)      CIFAR-10 (32, 32, 3)
================  =====================  ======================
mlp               235,146                820,874
simple_cnn        225,034                315,722
lenet5            61,706                 62,006
alexnet_small     1,334,138              1,336,538
vgg_small         289,066                289,642
resnet_small      273,754                274,042
fashion_cnn       113,866                125,962
================  =====================  ======================

``transfer_classifier`` (160×160×3, 2 classes): MobileNet α=0.25 219,058 (514 trainable
when frozen), MobileNetV2 2,260,546 (2,562), ResNet50 23,591,822 (4,098; 12 of them the frozen
caffe preprocessing).

No builder uses a ``Lambda`` layer, so every model saves to ``.keras`` and loads back with
``keras.saving.load_model(path)`` in safe mode, without custom objects.

Example:
    >>> from dlweek import models                            # doctest: +SKIP
    >>> m = models.lenet5((28, 28, 1), 10)                   # doctest: +SKIP
    >>> m.count_params()                                     # doctest: +SKIP
    61706
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import keras

log = logging.getLogger(__name__)

Shape = Sequence[int]
BASES = ("mobilenet", "mobilenet_v2", "resnet50")
#: Name of the ``keras.applications`` base inside a :func:`transfer_classifier` model.
BASE_NAME = "base"
#: ImageNet channel means (BGR) that ResNet50's "caffe" preprocessing subtracts.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


#: BatchNorm momentum for every builder. Keras's default (0.99) needs thousands of steps
#: before the inference-mode statistics settle, so a short course run (a few hundred steps)
#: would evaluate at chance; 0.9 settles within ~50 steps.
BN_MOMENTUM = 0.9


class ModelConfigError(ValueError):
    """A builder was asked for something it cannot build (bad shape, unknown base...)."""


def _keras() -> Any:
    import keras  # noqa: PLC0415  (heavy; imported when a model is built)

    return keras


def _check_shape(input_shape: Shape, min_side: int = 8) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ModelConfigError(f"input_shape must be (height, width, channels), got {shape}.")
    if min(shape[:2]) < min_side:
        raise ModelConfigError(f"input_shape {shape} is too small: sides must be >= {min_side}.")
    return shape  # type: ignore[return-value]


def _inputs(input_shape: Shape, name: str = "pixels") -> tuple[Any, Any]:
    """``(inputs, rescaled)``: an Input for raw pixels and its 0..1 rescaled tensor."""
    keras = _keras()
    inputs = keras.Input(shape=_check_shape(input_shape), name=name)
    return inputs, keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)


def _head(x: Any, num_classes: int) -> Any:
    return _keras().layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def _pad_to(x: Any, side: int, input_shape: Shape) -> Any:
    """Zero-pad a small image (e.g. MNIST's 28×28) up to ``side``×``side``."""
    h, w = int(input_shape[0]), int(input_shape[1])
    if h >= side and w >= side:
        return x
    ph, pw = max(0, side - h), max(0, side - w)
    return _keras().layers.ZeroPadding2D(
        ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)), name="pad")(x)


# --- fully connected -------------------------------------------------------------------

def mlp(input_shape: Shape, num_classes: int, hidden: Sequence[int] = (256, 128),
        dropout: float = 0.2) -> keras.Sequential:
    """A multilayer perceptron with the Sequential API: Flatten → (Dense, Dropout)* → softmax.

    The "universal approximator" network (Rumelhart, Hinton & Williams 1986, backprop;
    dropout from Srivastava et al. 2014). Parameters with the defaults: 235,146 for MNIST,
    820,874 for CIFAR-10.

    Args:
        input_shape: ``(H, W, C)`` of the raw images.
        num_classes: size of the softmax output.
        hidden: units of each hidden ReLU layer.
        dropout: dropout rate after each hidden layer (0 disables it).
    """
    keras = _keras()
    layers: list[Any] = [keras.Input(shape=_check_shape(input_shape, 1), name="pixels"),
                         keras.layers.Rescaling(1.0 / 255, name="rescale"),
                         keras.layers.Flatten(name="flatten")]
    for i, units in enumerate(hidden, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"dense_{i}"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{i}"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="predictions"))
    return keras.Sequential(layers, name="mlp")


# --- convolutional classics -------------------------------------------------------------

def simple_cnn(input_shape: Shape, num_classes: int, filters: Sequence[int] = (32, 64),
               dense: int = 128, dropout: float = 0.5) -> keras.Model:
    """The smallest useful CNN: (Conv 3×3 → MaxPool)* → Dense → softmax (Sequential API).

    The keras-io "simple MNIST convnet" pattern (LeCun et al. 1989's idea of shared local
    filters plus pooling). Parameters with the defaults: 225,034 for MNIST, 315,722 for
    CIFAR-10.

    Args:
        filters: filters of each Conv→Pool stage.
        dense: units of the hidden dense layer (0: none).
        dropout: dropout before the classifier.
    """
    keras = _keras()
    layers: list[Any] = [keras.Input(shape=_check_shape(input_shape), name="pixels"),
                         keras.layers.Rescaling(1.0 / 255, name="rescale")]
    for i, f in enumerate(filters, start=1):
        layers += [keras.layers.Conv2D(f, 3, activation="relu", name=f"conv_{i}"),
                   keras.layers.MaxPooling2D(2, name=f"pool_{i}")]
    layers.append(keras.layers.Flatten(name="flatten"))
    if dense:
        layers.append(keras.layers.Dense(dense, activation="relu", name="dense"))
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="dropout"))
    layers.append(keras.layers.Dense(num_classes, activation="softmax", name="predictions"))
    return keras.Sequential(layers, name="simple_cnn")


def lenet5(input_shape: Shape, num_classes: int) -> keras.Model:
    """LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to
    document recognition"), with ReLU and max-pooling instead of tanh and subsampling.

    C1 Conv6@5×5 → S2 pool → C3 Conv16@5×5 → S4 pool → C5 Dense120 → F6 Dense84 → softmax.
    Inputs smaller than 32×32 (MNIST) are zero-padded to 32×32 as in the paper. Parameters:
    61,706 for MNIST, 62,006 for CIFAR-10.
    """
    keras = _keras()
    inputs, x = _inputs(input_shape)
    x = _pad_to(x, 32, input_shape)
    x = keras.layers.Conv2D(6, 5, activation="relu", name="c1")(x)
    x = keras.layers.MaxPooling2D(2, name="s2")(x)
    x = keras.layers.Conv2D(16, 5, activation="relu", name="c3")(x)
    x = keras.layers.MaxPooling2D(2, name="s4")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation="relu", name="c5")(x)
    x = keras.layers.Dense(84, activation="relu", name="f6")(x)
    return keras.Model(inputs, _head(x, num_classes), name="lenet5")


def alexnet_small(input_shape: Shape, num_classes: int, dropout: float = 0.5) -> keras.Model:
    """A small AlexNet (Krizhevsky, Sutskever & Hinton 2012) for 28–32 px images.

    AlexNet's ideas at 1/100 of its size: ReLU, a large first filter, overlapping max
    pooling (3×3, stride 2), five conv layers (three stacked at the end), two wide dense
    layers with dropout. BatchNorm stands in for local response normalisation. 'same'
    padding makes 28×28 and 32×32 both work. Parameters: 1,334,138 for MNIST, 1,336,538 for
    CIFAR-10.
    """
    keras = _keras()
    L = keras.layers
    inputs, x = _inputs(input_shape)

    def conv(t: Any, f: int, k: int, name: str) -> Any:
        t = L.Conv2D(f, k, padding="same", use_bias=False, name=name)(t)
        t = L.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(t)
        return L.ReLU(name=f"{name}_relu")(t)

    x = conv(x, 48, 5, "conv1")
    x = L.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = conv(x, 96, 3, "conv2")
    x = L.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    x = conv(x, 128, 3, "conv3")
    x = conv(x, 128, 3, "conv4")
    x = conv(x, 96, 3, "conv5")
    x = L.MaxPooling2D(3, strides=2, padding="same", name="pool5")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dropout(dropout, name="drop6")(x)
    x = L.Dense(512, activation="relu", name="fc6")(x)
    x = L.Dropout(dropout, name="drop7")(x)
    x = L.Dense(256, activation="relu", name="fc7")(x)
    return keras.Model(inputs, _head(x, num_classes), name="alexnet_small")


def vgg_small(input_shape: Shape, num_classes: int, filters: Sequence[int] = (32, 64, 128),
              dropout: float = 0.3) -> keras.Model:
    """A small VGG (Simonyan & Zisserman 2014, "Very deep convolutional networks"): blocks of
    two 3×3 convs (+BatchNorm, Ioffe & Szegedy 2015) followed by 2×2 max-pooling, doubling
    the filters each block; GlobalAveragePooling (Lin et al. 2013) replaces VGG's huge
    dense layers. 'same' pooling keeps 28×28 inputs working (28→14→7→4). Parameters with
    the defaults: 289,066 for MNIST, 289,642 for CIFAR-10.
    """
    keras = _keras()
    L = keras.layers
    inputs, x = _inputs(input_shape)
    for b, f in enumerate(filters, start=1):
        for c in (1, 2):
            x = L.Conv2D(f, 3, padding="same", use_bias=False, name=f"block{b}_conv{c}")(x)
            x = L.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{b}_bn{c}")(x)
            x = L.ReLU(name=f"block{b}_relu{c}")(x)
        x = L.MaxPooling2D(2, padding="same", name=f"block{b}_pool")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = L.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, _head(x, num_classes), name="vgg_small")


def _residual_block(x: Any, filters: int, stride: int, name: str) -> Any:
    """ResNet "basic block" (two 3×3 convs) with a 1×1 projection when the shape changes."""
    L = _keras().layers
    shortcut = x
    y = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                 kernel_initializer="he_normal", name=f"{name}_conv1")(x)
    y = L.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn1")(y)
    y = L.ReLU(name=f"{name}_relu1")(y)
    y = L.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
                 name=f"{name}_conv2")(y)
    y = L.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn2")(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = L.Conv2D(filters, 1, strides=stride, use_bias=False,
                            kernel_initializer="he_normal", name=f"{name}_proj")(shortcut)
        shortcut = L.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_proj_bn")(shortcut)
    y = L.Add(name=f"{name}_add")([y, shortcut])
    return L.ReLU(name=f"{name}_out")(y)


def resnet_small(input_shape: Shape, num_classes: int, depth: int = 20,
                 width: int = 16) -> keras.Model:
    """ResNet-20-style CIFAR network (He, Zhang, Ren & Sun 2015, "Deep residual learning",
    section 4.2) with the functional API.

    A 3×3 stem, then three stages of ``n = (depth - 2) / 6`` residual basic blocks with
    ``width``, ``2·width`` and ``4·width`` filters (the 2nd and 3rd stages start with
    stride 2; 1×1 projection shortcuts), global average pooling and a softmax. 28×28 works
    too (28→14→7). Parameters with the defaults (depth 20, width 16): 273,754 for MNIST,
    274,042 for CIFAR-10.

    Args:
        depth: ``6n + 2`` layers (20, 32, 44, 56...); small values (8, 14) train faster.
        width: filters of the first stage.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ModelConfigError(f"depth must be 6n + 2 with n >= 1 (8, 14, 20, 32...), got {depth}.")
    keras = _keras()
    L = keras.layers
    n = (depth - 2) // 6
    inputs, x = _inputs(input_shape)
    x = L.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
                 name="stem_conv")(x)
    x = L.BatchNormalization(momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = L.ReLU(name="stem_relu")(x)
    for stage in range(3):
        for block in range(n):
            stride = 2 if stage > 0 and block == 0 else 1
            x = _residual_block(x, width * 2**stage, stride, f"stage{stage + 1}_block{block + 1}")
    x = L.GlobalAveragePooling2D(name="gap")(x)
    return keras.Model(inputs, _head(x, num_classes), name=f"resnet{depth}")


def fashion_cnn(input_shape: Shape = (28, 28, 1), num_classes: int = 10,
                filters: Sequence[int] = (32, 64, 128), dropout: float = 0.3,
                mid_padding: str = "same") -> keras.Model:
    """The Day 4 recipe model: a compact BatchNorm CNN built for accuracy per CPU-second.

    The keras-io "simple MNIST convnet" (Conv32 → pool → Conv64 → pool) made trainable at a
    high learning rate by BatchNorm (Ioffe & Szegedy 2015; after the first pooling, where it
    is 4× cheaper, then after each conv), with the middle conv 'same'-padded so it keeps the
    13×13 map (the hard Fashion-MNIST classes, shirt / T-shirt / pullover / coat, differ in
    small details that 'valid' padding crops away), plus a third conv on the 6×6 map
    (6→4) and a flatten → dropout → softmax head. About twice the baseline's time per
    epoch (``make bench``: 26 s vs 12 s on 2 cores). Trained with a short-warm-up one-cycle
    schedule (Smith 2018, "super-convergence"; see :func:`dlweek.recipes.fashion_day4`), it
    passes 90% on Fashion-MNIST test after 2-3 epochs and ends at 0.926-0.929 after 10.

    Parameters with the defaults: 113,866 for (28, 28, 1), 125,962 for (32, 32, 3).
    ``mid_padding="valid"`` gives the earlier, cheaper layout (104,906 / 114,442; ~0.92 on
    Fashion-MNIST), which the CIFAR-10 bundle recipe uses. BatchNorm momentum is 0.9 (not
    Keras's 0.99) so the inference-mode statistics keep up with a fast-moving, high-LR
    training run.
    """
    keras = _keras()
    L = keras.layers
    f1, f2, f3 = filters
    inputs, x = _inputs(input_shape)

    if mid_padding not in ("same", "valid"):
        raise ModelConfigError(f"mid_padding must be 'same' or 'valid', not {mid_padding!r}.")

    def cbr(t: Any, f: int, name: str, padding: str = "valid") -> Any:
        t = L.Conv2D(f, 3, padding=padding, use_bias=False, name=name)(t)
        t = L.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(t)
        return L.ReLU(name=f"{name}_relu")(t)

    x = L.Conv2D(f1, 3, activation="relu", name="conv1")(x)  # 26×26, bias+ReLU fused
    x = L.MaxPooling2D(2, name="pool1")(x)                    # 13×13
    x = L.BatchNormalization(momentum=BN_MOMENTUM, name="pool1_bn")(x)  # 4× fewer values
    x = cbr(x, f2, "conv2", mid_padding)                      # 13×13 ('valid': 11×11)
    x = L.MaxPooling2D(2, name="pool2")(x)                    # 6×6 (5×5)
    x = cbr(x, f3, "conv3")                                   # 4×4 (3×3)
    x = L.Flatten(name="flatten")(x)
    if dropout:
        x = L.Dropout(dropout, name="dropout")(x)
    return keras.Model(inputs, _head(x, num_classes), name="fashion_cnn")


# --- transfer learning ------------------------------------------------------------------

def _preprocessing(base: str, x: Any) -> Any:
    """The base's own ``preprocess_input``, written with built-in layers (no Lambda).

    MobileNet/MobileNetV2 ("tf" mode) scale to [-1, 1]: ``Rescaling(1/127.5, offset=-1)``.
    ResNet50 ("caffe" mode) flips RGB→BGR and subtracts the ImageNet channel means: that is
    an affine map per pixel, so a frozen ``Dense(3)`` (a permutation kernel, the negated
    means as bias) applied to the channel axis does it exactly and saves like any layer.
    """
    keras = _keras()
    if base in ("mobilenet", "mobilenet_v2"):
        return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")(x)
    layer = keras.layers.Dense(3, trainable=False, name="preprocess")
    y = layer(x)
    import numpy as np  # noqa: PLC0415

    flip = np.eye(3, dtype="float32")[::-1]                    # RGB → BGR
    layer.set_weights([flip, -np.asarray(CAFFE_MEAN_BGR, dtype="float32")])
    return y


def _mobilenet_weights_file(alpha: float, rows: int) -> str | None:
    """A cached MobileNet no-top weights file for ``alpha``, for any input size.

    Keras names the file by input size (``mobilenet_2_5_160_tf_no_top.h5``) but the
    convolution weights of a no-top model do not depend on it, so the mirror's 224 file
    serves 128/160/192 px inputs too.
    """
    from dlweek import config  # noqa: PLC0415

    text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}.get(float(alpha))
    if text is None:
        return None
    cache = config.keras_home() / "models"
    exact = cache / f"mobilenet_{text}_{rows}_tf_no_top.h5"
    if exact.is_file():
        return None  # Keras finds it itself
    found = sorted(cache.glob(f"mobilenet_{text}_*_tf_no_top.h5"))
    return str(found[-1]) if found else None


def _application(base: str, shape: tuple[int, int, int], weights: str | None,
                 alpha: float) -> Any:
    keras = _keras()
    apps = keras.applications
    w = weights
    if w is not None and w != "imagenet" and not Path(w).is_file():
        raise ModelConfigError(f"weights must be 'imagenet', None or a weights file; {w!r} "
                               "does not exist.")
    if w == "imagenet":
        from dlweek.sources import install_keras_weights  # noqa: PLC0415

        install_keras_weights()
        if base == "mobilenet":
            w = _mobilenet_weights_file(alpha, shape[0]) or w
    try:
        if base == "mobilenet":
            return apps.MobileNet(input_shape=shape, alpha=alpha, include_top=False, weights=w)
        if base == "mobilenet_v2":
            return apps.MobileNetV2(input_shape=shape, alpha=alpha if alpha in (
                0.35, 0.5, 0.75, 1.0, 1.3, 1.4) else 1.0, include_top=False, weights=w)
        return apps.ResNet50(input_shape=shape, include_top=False, weights=w)
    except Exception as exc:  # get_file raises plain Exception when offline
        if w != "imagenet":
            raise
        raise ModelConfigError(
            f"ImageNet weights for {base!r} (alpha={alpha}) are not available offline "
            f"({type(exc).__name__}: {exc}). The mirror ships MobileNet alpha=0.25 only: use "
            "base='mobilenet', alpha=0.25 with DLWEEK_DATA_DIR set, or weights=None."
        ) from exc


def transfer_classifier(input_shape: Shape = (160, 160, 3), num_classes: int = 2,
                        base: str = "mobilenet", weights: str | None = "imagenet",
                        alpha: float = 0.25, trainable_base: bool = False,
                        dropout: float = 0.2) -> keras.Model:
    """A pretrained ``keras.applications`` base with a new head (Yosinski et al. 2014,
    "How transferable are features in deep neural networks?").

    raw pixels → the base's preprocessing (built-in layers, see :func:`_preprocessing`) →
    base (``include_top=False``, named ``"base"``) → GlobalAveragePooling → Dropout →
    Dense softmax. With ``trainable_base=False`` only the head trains (feature extraction);
    :func:`set_base_trainable` unfreezes it for fine-tuning. The base always runs in
    inference mode (``training=False``), so its BatchNorm statistics stay ImageNet's even
    when fine-tuning (the keras-io transfer-learning guide's advice).

    Parameters at 160×160×3, 2 classes: MobileNet α=0.25 219,058 (514 in the head),
    MobileNetV2 α=1.0 2,260,546 (2,562), ResNet50 23,591,822 (4,098; 12 frozen preprocessing).

    Args:
        base: ``"mobilenet"`` (ImageNet weights for α=0.25 are in the data mirror),
            ``"mobilenet_v2"`` or ``"resnet50"`` (ImageNet weights only if cached/downloadable).
        weights: ``"imagenet"`` (installs the mirror's weights first, via
            :func:`dlweek.sources.install_keras_weights`), ``None`` (random init, for tests)
            or a path to a weights file for the base.
        alpha: MobileNet width multiplier.
        trainable_base: train the base too.
        dropout: dropout before the classifier.

    Raises:
        ModelConfigError: unknown base, or ImageNet weights that are not available offline.
    """
    if base not in BASES:
        raise ModelConfigError(f"Unknown base {base!r}; choose one of {', '.join(BASES)}.")
    keras = _keras()
    L = keras.layers
    shape = _check_shape(input_shape, 32)
    inputs = keras.Input(shape=shape, name="pixels")
    x = _preprocessing(base, inputs)
    backbone = _application(base, shape, weights, alpha)
    backbone.name = BASE_NAME
    backbone.trainable = trainable_base
    x = backbone(x, training=False)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = L.Dropout(dropout, name="dropout")(x)
    model = keras.Model(inputs, _head(x, num_classes), name=f"transfer_{base}")
    return model


def set_base_trainable(model: keras.Model, trainable: bool,
                       fine_tune_from: int | str | None = None) -> keras.Model:
    """Freeze or unfreeze the base of a :func:`transfer_classifier` model (in place).

    Recompile afterwards: Keras reads ``trainable`` when a model is compiled.

    Args:
        trainable: unfreeze (True) or freeze (False) the base.
        fine_tune_from: with ``trainable=True``, unfreeze only the base's layers from this
            index (int) or layer name (str) on, keeping the earlier ones frozen.
            BatchNormalization layers stay frozen either way.

    Returns:
        The same model, for chaining.

    Raises:
        ModelConfigError: the model has no layer named ``"base"``, or ``fine_tune_from`` names
            no layer of it.
    """
    keras = _keras()
    try:
        backbone = model.get_layer(BASE_NAME)
    except ValueError as exc:
        raise ModelConfigError(
            f"{model.name!r} has no layer named {BASE_NAME!r}; set_base_trainable works on "
            "models from dlweek.models.transfer_classifier.") from exc
    backbone.trainable = trainable
    if not trainable:
        return model
    start = 0
    if isinstance(fine_tune_from, str):
        names = [layer.name for layer in backbone.layers]
        if fine_tune_from not in names:
            raise ModelConfigError(f"fine_tune_from={fine_tune_from!r} is not a layer of the base.")
        start = names.index(fine_tune_from)
    elif isinstance(fine_tune_from, int):
        start = fine_tune_from
    for i, layer in enumerate(backbone.layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= start and not is_bn
    return model


def has_lambda(model: keras.Model) -> bool:
    """True if ``model`` (or a nested model) contains a ``Lambda`` layer (none of ours do)."""
    keras = _keras()
    for layer in model.layers:
        if isinstance(layer, keras.layers.Lambda):
            return True
        if isinstance(layer, keras.Model) and has_lambda(layer):
            return True
    return False


BUILDERS = {
    "mlp": mlp,
    "simple_cnn": simple_cnn,
    "lenet5": lenet5,
    "alexnet_small": alexnet_small,
    "vgg_small": vgg_small,
    "resnet_small": resnet_small,
    "fashion_cnn": fashion_cnn,
}


def build(name: str, input_shape: Shape, num_classes: int, **kwargs: Any) -> keras.Model:
    """Build a model by name (``BUILDERS``' keys, or ``"transfer_classifier"``)."""
    if name == "transfer_classifier":
        return transfer_classifier(input_shape, num_classes, **kwargs)
    if name not in BUILDERS:
        raise ModelConfigError(f"Unknown model {name!r}; choose one of "
                               f"{', '.join([*BUILDERS, 'transfer_classifier'])}.")
    return BUILDERS[name](input_shape, num_classes, **kwargs)
