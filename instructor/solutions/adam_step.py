import numpy as np


def my_adam_step(p, g, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08):
    """One Adam step (Kingma & Ba 2015) exactly as ``torch.optim.Adam`` computes it."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    denom = np.sqrt(v) / np.sqrt(1 - beta2 ** t) + eps
    p_new = p - lr / (1 - beta1 ** t) * m / denom
    return p_new.astype(p.dtype), m, v
