def my_dense_backward(dy, cache):
    """Dense backward: ``dx = dy W^T``, ``dW = x^T dy``, ``db = sum_n dy``."""
    x, w, has_bias = cache
    dx = dy @ w.T                       # (N, F_out) @ (F_out, F_in)
    dw = x.T @ dy                       # (F_in, N) @ (N, F_out)
    db = dy.sum(axis=0) if has_bias else None
    return dx, dw, db
