def my_d_logistic(x, y):
    """Derivative of the logistic sigmoid from its output: y (1 - y)."""
    return y * (1 - y)
