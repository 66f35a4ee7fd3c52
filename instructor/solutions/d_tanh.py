def my_d_tanh(x, y):
    """Derivative of tanh from its output: 1 - y^2."""
    return 1 - y * y
