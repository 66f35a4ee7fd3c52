"""Figures of the course: functions from arrays to :class:`matplotlib.figure.Figure`.

Every function here takes arrays (never a model), computes its numbers with :mod:`labkit.ops`
(so what you see is what the engine computes), and returns a new figure in one style
(:mod:`labkit.viz.style`).  Figures are not registered with ``pyplot``: nothing to close, and
Jupyter shows a returned figure inline after ``%matplotlib inline``.  Each data axes has a label (``ax.get_label()``), used by
the tests and the widgets to find a panel; :func:`labkit.viz.style.panel_axes` lists them.

==============================  ===============================================================
topic                           functions
==============================  ===============================================================
pooling                         :func:`pooling_figure`, :func:`pooling_comparison`
im2col / col2im                 :func:`im2col_figure`, :func:`im2col_gemm_figure`,
                                :func:`col2im_figure`
Winograd                        :func:`winograd_tiles_figure`, :func:`winograd_transform_figure`
timing                          :func:`timing_bars`, :func:`timing_scaling`
convolution                     :func:`kernel_gallery`, :func:`conv_figure`,
                                :func:`feature_maps`, :func:`receptive_field_figure`
gradient flow                   :func:`gradient_flow_figure`
optimisation                    :func:`landscape_figure`, :func:`perceptron_figure`
MRI                             :func:`orthogonal_slices`, :func:`slice_figure`,
                                :func:`kspace_figure`, :func:`sr_comparison`,
                                :func:`psnr_per_slice`
course figures                  everything in ``__all__`` of :mod:`labkit.viz.course_plots`
                                (curves, image panels, bars, slice positions, decision
                                surfaces) and :mod:`labkit.viz.course_pixel_shuffle`
==============================  ===============================================================
"""

from labkit.viz.conv import conv_figure, feature_maps, kernel_gallery, receptive_field_figure
from labkit.viz.gradients import gradient_flow_figure
from labkit.viz.im2col import col2im_figure, im2col_figure, im2col_gemm_figure
from labkit.viz.mri import (
                            kspace_figure,
                            orthogonal_slices,
                            psnr_per_slice,
                            slice_figure,
                            slice_image,
                            sr_comparison,
)
from labkit.viz.optim import landscape_figure, perceptron_figure
from labkit.viz.pooling import pooling_comparison, pooling_figure
from labkit.viz.style import figure_to_png, panel_axes
from labkit.viz.timing import timing_bars, timing_scaling
from labkit.viz.winograd import winograd_tiles_figure, winograd_transform_figure

from labkit.viz import course_pixel_shuffle as _course_pixel_shuffle  # isort: skip
from labkit.viz import course_plots as _course_plots  # isort: skip

__all__ = [
    "col2im_figure", "conv_figure", "feature_maps", "figure_to_png", "gradient_flow_figure",
    "im2col_figure", "im2col_gemm_figure", "kernel_gallery", "kspace_figure", "landscape_figure",
    "orthogonal_slices", "panel_axes", "perceptron_figure", "pooling_comparison",
    "pooling_figure", "psnr_per_slice", "receptive_field_figure", "slice_figure", "slice_image",
    "sr_comparison", "timing_bars", "timing_scaling", "winograd_tiles_figure",
    "winograd_transform_figure",
]

# The course modules are written alongside the chapters; re-export whatever they make public.
for _module in (_course_plots, _course_pixel_shuffle):
    globals().update({_name: getattr(_module, _name) for _name in _module.__all__})
    __all__ += list(_module.__all__)
del _module
