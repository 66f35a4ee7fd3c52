import numpy as np


def my_winograd_f2_3(d, g):
    """The 1-D ``F(2, 3)``: two outputs of the 3-tap correlation with 4 multiplications."""
    d0, d1, d2, d3 = np.asarray(d, dtype=np.float64)
    g0, g1, g2 = np.asarray(g, dtype=np.float64)
    m1 = (d0 - d2) * g0
    m2 = (d1 + d2) * ((g0 + g1 + g2) / 2)
    m3 = (d2 - d1) * ((g0 - g1 + g2) / 2)
    m4 = (d1 - d3) * g2
    return np.array([m1 + m2 + m3, m2 - m3 - m4])
