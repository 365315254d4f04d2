"""Adam and the mini-batch training loop of the from-scratch NumPy network."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from inference.numpy_net import NumpyNet, Params


@dataclass
class Adam:
    """Adam (Kingma & Ba) with bias correction, updating parameters in place."""

    learning_rate: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    step: int = 0
    first: Params = field(default_factory=dict)
    second: Params = field(default_factory=dict)

    def update(self, params: Params, grads: Params) -> None:
        self.step += 1
        correction1 = 1 - self.beta1**self.step
        correction2 = 1 - self.beta2**self.step
        for key, grad in grads.items():
            m = self.first.setdefault(key, np.zeros_like(grad))
            v = self.second.setdefault(key, np.zeros_like(grad))
            m *= self.beta1
            m += (1 - self.beta1) * grad
            v *= self.beta2
            v += (1 - self.beta2) * grad * grad
            params[key] -= (self.learning_rate * (m / correction1) / (np.sqrt(v / correction2) + self.epsilon)).astype(
                params[key].dtype
            )


def numpy_epoch(
    net: NumpyNet,
    optimiser: Adam,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    batch_size: int,
    rng: np.random.Generator,
    description: str = "numpy",
    progress: bool = True,
) -> float:
    """One pass over (already augmented) images in a random order; returns the mean loss."""
    flat = images.reshape(len(images), -1)
    order = rng.permutation(len(images))
    total = 0.0
    bar = tqdm(range(0, len(order), batch_size), desc=description, disable=not progress)
    for start in bar:
        index = order[start : start + batch_size]
        probabilities, cache = net.forward(flat[index])
        total += net.loss(probabilities, labels[index]) * len(index)
        optimiser.update(net.params, net.backward(cache, labels[index]))
    return total / len(order)
