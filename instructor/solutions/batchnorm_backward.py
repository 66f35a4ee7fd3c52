def my_batchnorm_backward(dy, cache):
    """Returns ``(dx, dgamma, dbeta)`` for either mode."""
    mode, xhat, inv_std, gamma = cache
    axes = tuple(range(dy.ndim - 1))
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    dxhat = dy * gamma
    if mode == "eval":                            # mean and variance are constants
        return dxhat * inv_std, dgamma, dbeta
    m = dy.size // dy.shape[-1]                   # values per channel
    dx = (inv_std / m) * (m * dxhat - dxhat.sum(axis=axes)
                          - xhat * (dxhat * xhat).sum(axis=axes))
    return dx, dgamma, dbeta
