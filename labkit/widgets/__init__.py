"""Interactive explorers: thin wiring of ipywidgets controls to :mod:`labkit.viz` figures.

Each factory returns ``(ui, state)``: ``ui`` is the widget to display, ``state`` an
:class:`~labkit.widgets._base.Explorer` exposing ``controls`` (set ``.value`` to drive it from
code), the latest ``figure`` and ``arrays`` (what labkit computed), and ``error`` (the message
shown for an invalid combination; never a traceback).  Sliders update on release
(``continuous_update=False``) because a render takes a noticeable fraction of a second.

>>> ui, state = pooling_explorer()                         # doctest: +SKIP
>>> state.controls["size"].value = 3                       # doctest: +SKIP
>>> state.arrays["output"].shape                           # doctest: +SKIP
"""

from labkit.widgets._base import Explorer
from labkit.widgets.conv import conv_explorer, convolution_explorer, im2col_explorer
from labkit.widgets.mri import degradation_explorer, sr_viewer, volume_viewer
from labkit.widgets.pooling import pooling_explorer

__all__ = ["Explorer", "conv_explorer", "convolution_explorer", "degradation_explorer",
           "im2col_explorer", "pooling_explorer", "sr_viewer", "volume_viewer"]
