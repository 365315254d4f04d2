"""A fully connected network written from scratch in NumPy: forward pass, backward pass, weights.

No ML framework is used at training or inference time; the optimiser and the training loop live in
`training/numpy_trainer.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Params = dict[str, np.ndarray]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass
class ForwardCache:
    """What the backward pass needs from the forward pass: each layer's input and pre-activation."""

    inputs: list[np.ndarray] = field(default_factory=list)
    pre_activations: list[np.ndarray] = field(default_factory=list)
    probabilities: np.ndarray | None = None


class NumpyNet:
    """A ReLU multilayer perceptron with a softmax output, e.g. sizes (784, 512, 256, 10)."""

    def __init__(self, params: Params) -> None:
        self.params = params

    @classmethod
    def initialise(cls, sizes: tuple[int, ...], seed: int) -> NumpyNet:
        """He-initialised weights for the given layer sizes."""
        rng = np.random.default_rng(seed)
        params: Params = {}
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
            params[f"W{index}"] = (rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)).astype(np.float32)
            params[f"b{index}"] = np.zeros(fan_out, dtype=np.float32)
        return cls(params)

    @property
    def layer_count(self) -> int:
        return len(self.params) // 2

    @property
    def sizes(self) -> tuple[int, ...]:
        first = self.params["W1"].shape[0]
        return (first, *(self.params[f"W{i}"].shape[1] for i in range(1, self.layer_count + 1)))

    @property
    def parameter_count(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, ForwardCache]:
        """Probabilities for a batch of flattened images (N, 784), with the cache for backward."""
        cache = ForwardCache()
        activation = x
        for index in range(1, self.layer_count + 1):
            cache.inputs.append(activation)
            pre = activation @ self.params[f"W{index}"] + self.params[f"b{index}"]
            cache.pre_activations.append(pre)
            activation = np.maximum(pre, 0.0) if index < self.layer_count else pre
        cache.probabilities = softmax(activation)
        return cache.probabilities, cache

    def loss(self, probabilities: np.ndarray, labels: np.ndarray) -> float:
        """Mean cross-entropy of the true labels."""
        picked = probabilities[np.arange(len(labels)), labels]
        return float(-np.mean(np.log(np.clip(picked, 1e-12, None))))

    def backward(self, cache: ForwardCache, labels: np.ndarray) -> Params:
        """Gradients of the mean cross-entropy with respect to every parameter."""
        assert cache.probabilities is not None
        batch = len(labels)
        delta = cache.probabilities.copy()
        delta[np.arange(batch), labels] -= 1.0
        delta /= batch
        grads: Params = {}
        for index in range(self.layer_count, 0, -1):
            grads[f"W{index}"] = cache.inputs[index - 1].T @ delta
            grads[f"b{index}"] = delta.sum(axis=0)
            if index > 1:
                delta = (delta @ self.params[f"W{index}"].T) * (cache.pre_activations[index - 2] > 0)
        return grads

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) images in [0, 1] to (N, 10) logits: the output before the softmax."""
        flat = np.asarray(batch, dtype=np.float32).reshape(len(batch), -1)
        activation = flat
        for index in range(1, self.layer_count + 1):
            pre = activation @ self.params[f"W{index}"] + self.params[f"b{index}"]
            activation = np.maximum(pre, 0.0) if index < self.layer_count else pre
        return activation

    def input_gradients(self, batch: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Gradient of each image's log-probability of `classes[i]` with respect to its pixels, by the
        same backward pass as training (stopped at the input instead of the weights): (N, 28, 28)."""
        flat = np.asarray(batch, dtype=np.float32).reshape(len(batch), -1)
        probabilities, cache = self.forward(flat)
        delta = -probabilities
        delta[np.arange(len(flat)), classes] += 1.0  # d log p_c / d logits = onehot(c) - p
        for index in range(self.layer_count, 0, -1):
            delta = delta @ self.params[f"W{index}"].T
            if index > 1:
                delta = delta * (cache.pre_activations[index - 2] > 0)
        return delta.reshape(np.shape(batch)).astype(np.float32)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """(N, 28, 28) images in [0, 1] to (N, 10) probabilities."""
        flat = np.asarray(batch, dtype=np.float32).reshape(len(batch), -1)
        probabilities, _ = self.forward(flat)
        return probabilities

    def save(self, path: Path) -> None:
        """Write the weights as a compressed .npz file."""
        np.savez_compressed(path, **self.params)

    @classmethod
    def load(cls, path: Path) -> NumpyNet:
        """Read weights written by `save`."""
        with np.load(path) as data:
            return cls({key: data[key].astype(np.float32) for key in data.files})
