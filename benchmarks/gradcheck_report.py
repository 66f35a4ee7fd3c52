"""Print the worst float64 gradient-check relative error of every layer over a set of shapes.

Run: ``python benchmarks/gradcheck_report.py``.  Same configurations as tests/test_gradients.py
plus a few more; the random upstream gradient differs per configuration.
"""

from __future__ import annotations

import numpy as np

from labkit.gradcheck import check_layer, check_network
from labkit.layers import (Activation, AvgPool2D, BatchNorm, Conv2D, Dense, MaxPool2D,
                           PixelShuffle, Route, Shortcut)
from labkit.models import edsr


def main():
    rng = np.random.default_rng(0)
    worst: dict[str, float] = {}

    def record(name, errors):
        worst[name] = max(worst.get(name, 0.0), max(errors.values()))

    for algorithm in ("naive", "im2col"):
        for kernel, stride, padding, hw in [(3, 1, "same", (7, 6)), ((3, 2), (2, 1), "same", (9, 7)),
                                            ((2, 3), 2, "valid", (8, 9)), ((5, 3), (3, 2), 2, (11, 8)),
                                            (4, 1, "same", (6, 7))]:
            layer = Conv2D(3, 4, kernel, stride, padding, algorithm=algorithm).astype(np.float64)
            layer.params["b"][:] = rng.standard_normal(4)
            record(f"Conv2D[{algorithm}]", check_layer(layer, rng.standard_normal((2, *hw, 3)),
                                                       seed=int(rng.integers(1 << 30))))
    wn = Conv2D(2, 3, 3, weight_norm=True, algorithm="im2col").astype(np.float64)
    record("Conv2D[weight_norm]", check_layer(wn, rng.standard_normal((2, 5, 6, 2))))
    for size, stride, padding, hw in [(2, None, 0, (6, 8)), (3, 2, 1, (7, 9)), (3, 1, 0, (5, 6)),
                                      ((3, 2), (2, 1), (1, 0), (7, 5))]:
        x = rng.permutation(2 * hw[0] * hw[1] * 3).reshape(2, *hw, 3) / 10.0
        record("MaxPool2D", check_layer(MaxPool2D(size, stride, padding), x))
        record("AvgPool2D", check_layer(AvgPool2D(size, stride, padding), rng.standard_normal(x.shape)))
    for order in ("torch", "tf"):
        record(f"PixelShuffle[{order}]",
               check_layer(PixelShuffle(2, order), rng.standard_normal((2, 3, 5, 8))))
    for training in (True, False):
        bn = BatchNorm(3).astype(np.float64)
        bn.params["gamma"][:] = rng.uniform(0.5, 2, 3)
        record(f"BatchNorm[{'train' if training else 'eval'}]",
               check_layer(bn, rng.standard_normal((3, 5, 4, 3)), training=training))
    for name in ("linear", "relu", "leaky", "elu", "selu", "logistic", "tanh", "softplus"):
        x = rng.standard_normal((2, 4, 3, 2)) * 3
        x[np.abs(x) < 1e-3] = 0.5
        record(f"Activation[{name}]", check_layer(Activation(name), x))
    record("Dense", check_layer(Dense(7, 5).astype(np.float64), rng.standard_normal((4, 7))))
    record("Shortcut", check_layer(Shortcut(-3, 0.7, -1.3), rng.standard_normal((2, 3, 5, 4)),
                                   other=rng.standard_normal((2, 3, 5, 4))))
    record("Route", check_layer(Route(0), rng.standard_normal((2, 3, 5, 4)),
                                other=rng.standard_normal((2, 3, 5, 4))))
    net = edsr(2, 2, 4, seed=0, algorithm="im2col").astype(np.float64)
    record("Network[edsr(2, 2, 4)]", check_network(net, rng.uniform(0, 1, (1, 5, 4, 1))))

    width = max(map(len, worst))
    print(f"{'layer':<{width}}  worst relative error")
    for name, err in worst.items():
        print(f"{name:<{width}}  {err:.1e}")
    return worst


if __name__ == "__main__":
    main()
