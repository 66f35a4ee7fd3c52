import math


def my_learning_rate(step, total, lr, schedule="cosine", lr_min=0.0, step_size=0, gamma=0.5):
    """Learning rate for optimisation step ``step`` (0-based) of ``total``."""
    if schedule == "cosine":
        t = min(step, total) / total
        return lr_min + 0.5 * (lr - lr_min) * (1.0 + math.cos(math.pi * t))
    if schedule == "step":
        size = step_size if step_size > 0 else max(total // 2, 1)
        return lr * gamma ** (step // size)
    return lr
