import numpy as np


def my_perceptron_fit(x, t, lr=1.0, epochs=20, w0=None, b0=0.0, shuffle=True, seed=0):
    """Rosenblatt's rule, one example at a time; a dict with w, b, mistakes, epochs, converged.

    Each epoch visits the examples in the order ``rng.permutation(N)`` of one generator
    ``rng = np.random.default_rng(seed)`` (``0..N-1`` if not ``shuffle``) and training stops
    after the first epoch without mistakes.
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    n, f = x.shape
    w = np.zeros(f) if w0 is None else np.array(w0, dtype=np.float64).reshape(-1)
    b = float(b0)
    rng = np.random.default_rng(seed)          # one generator: a new permutation every epoch
    mistakes = []
    converged = False
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        errors = 0
        for i in order:
            y = float(x[i] @ w + b >= 0)       # H(0) = 1
            if y != t[i]:
                w = w + lr * (t[i] - y) * x[i]
                b += lr * (t[i] - y)
                errors += 1
        mistakes.append(errors)
        if errors == 0:                        # an epoch without mistakes: done
            converged = True
            break
    return {"w": w, "b": b, "mistakes": np.array(mistakes, dtype=np.int64),
            "epochs": len(mistakes), "converged": converged}
