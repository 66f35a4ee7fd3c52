"""Build notebooks/00_index.ipynb: the course map, how to run it, versions and a smoke check."""

from _nbbuild import Builder

b = Builder()
b.md(r"""
# labkit: from the perceptron to super-resolution of brain MRI

Welcome. This course takes you, in twelve short chapters, from a single artificial neuron to a
convolutional network that sharpens brain MR images by a factor of two or four, and it does so
with a deep-learning engine small enough to read in an afternoon: **labkit**, written in numpy
(with numba where a loop must be fast). Nothing is hidden behind a framework call. When a
chapter explains backpropagation, the code that runs is `labkit.layers.Dense.backward`, twenty
lines you can open next to the notebook; when it explains im2col or the Winograd trick, you time
labkit's own implementations against each other on your own laptop.

The thread running through the course is **single-image super-resolution (SR)** of MRI: given a
low-resolution (LR) slice, estimate the high-resolution (HR) slice it came from. It is a good
teacher. It needs every idea of modern deep learning (convolutions, residual connections,
careful losses, sensible metrics), it runs on a CPU in minutes at small scale, and the data
ship with packages you install anyway (the MNI ICBM152 template inside the `nilearn` wheel,
nibabel's sample files), so nothing is downloaded.

**This page** gives the chapter map, tells you how to run the notebooks, prints the versions in
use and runs a ten-second smoke test. Reading time: 5 minutes; running time: about 10 seconds.
Prerequisites: Python and numpy at the level of slicing arrays and writing a function; calculus
at the level of the chain rule.
""")
b.md(r"""
## The chapters

The outline follows a master's thesis on deep learning for SR in MRI (introduction, algorithms,
dataset and models, results). Each notebook opens with what it teaches and how long it takes,
ends with exercises, and its last cell checks the chapter's key results with `assert`.

| # | notebook | what it teaches | run time FAST / full |
|---|---|---|---|
| 0 | [00 Index](00_index.ipynb) | this map, how to run, versions, a smoke check | 10 s / 10 s |
| 1 | [01 Neural networks](01_neural_networks.ipynb) | Rosenblatt's perceptron and why it fails on XOR; multilayer networks; gradient descent on a loss landscape; the four equations of backpropagation, checked numerically | 10 s / 10 s |
| 2 | [02 Super-resolution and image quality](02_super_resolution_and_quality.ipynb) | SR as an ill-posed inverse problem; nearest, bilinear and bicubic interpolation; PSNR and SSIM, where they agree and where they do not | 25 s / 25 s |
| 3 | [03 Magnetic resonance](03_magnetic_resonance.ipynb) | spins and k-space in a few paragraphs; NIfTI volumes, affines and orientation; Gibbs ringing; how LR images are simulated | 15 s / 15 s |
| 4 | [04 Convolution](04_convolution.ipynb) | convolution vs cross-correlation, classic filters on MRI, output size with stride and padding, receptive fields | 10 s / 10 s |
| 5 | [05 The convolutional layer](05_convolutional_layer.ipynb) | the `Conv2D` layer, im2col/col2im, Winograd F(2,3), F(2x2,3x3) and F(4x4,3x3), float32 accuracy, gradient check | 20 s / 20 s |
| 6 | [06 Pooling](06_pooling.ipynb) | max and average pooling, forward and backward, overlapping windows | 15 s / 15 s |
| 7 | [07 Shortcut, pixel shuffle, batch normalisation](07_shortcut_pixelshuffle_batchnorm.ipynb) | residual connections and gradient flow, sub-pixel upsampling and checkerboards, batch normalisation | 15 s / 15 s |
| 8 | [08 Activations and losses](08_activations_and_losses.ipynb) | every activation and its derivative, vanishing gradients, L1 / L2 / Charbonnier and why L1 gives sharper SR | 10 s / 10 s |
| 9 | [09 Timing](09_timing.ipynb) | benchmarking the convolution algorithms honestly | 20 s / 3 min |
| 10 | [10 Dataset and models](10_dataset_and_models.ipynb) | the MNI-SR split, the patch sampler, the bicubic baseline, EDSR and WDSR | 40 s / 45 s |
| 11 | [11 Training](11_training.ipynb) | training EDSR on a laptop CPU: the loop, schedules, checkpoints and resume | 40 s / 13 min |
| 12 | [12 Results](12_results.ipynb) | the shipped checkpoints against bicubic on the MNI-SR test slices | 65 s / 65 s |

"FAST" is the short version that continuous integration runs (`LABKIT_FAST=1`); "full" is what
you get by default. The times include starting the kernel, were measured on a busy 2-core
machine and are rounded; yours will differ. Chapters 0-3, 8 and 10 barely change between the
two modes; training (11) and timing (9) are where FAST saves real time.

Chapters 1-3 are the introduction (networks, SR, MR), 4-9 the algorithms inside the engine,
10-12 the experiment. You can read 1-3 in any order; from chapter 4 on, each builds on the
previous ones.
""")
b.md(r"""
## How to run the course

From a clone of the repository, with Python 3.10 or newer:

```bash
pip install -e ".[lab]" && jupyter lab notebooks/00_index.ipynb
```

`-e` installs labkit in *editable* mode: change a file in `labkit/`, restart the kernel, and
the notebooks use your version. Run each notebook top to bottom in a fresh kernel
(*Kernel → Restart Kernel and Run All Cells*). The interactive widgets (sliders, drop-downs)
need JupyterLab 4 with `ipywidgets` 8, which the `lab` extra installs.

To run the short versions (fewer training steps, smaller sweeps), start JupyterLab with the
environment variable set:

```bash
LABKIT_FAST=1 jupyter lab notebooks/00_index.ipynb
```

To check every notebook the way continuous integration does (each one is executed and the cells
marked `# NBVAL_CHECK_OUTPUT` must reproduce their stored output):

```bash
pip install -e ".[dev]" && LABKIT_FAST=1 python -m pytest notebooks
```

conda and Binder users: `conda env create -f environment.yml` creates an environment with
everything above.
""")
b.code(r"""
%matplotlib inline
%config InlineBackend.figure_format = "png"
import os

import matplotlib.pyplot as plt

plt.rcParams["figure.dpi"] = 80
FAST = os.environ.get("LABKIT_FAST", "0") == "1"
print("FAST mode:", FAST)
""")
b.md(r"""
## Versions in use

The numbers in the notebooks were produced with the versions below. Different numpy or BLAS
builds can change the last digits of floating-point results, which is why the checked outputs
in this course are rounded or are comparisons like `error < 1e-7`.
""")
b.code(r"""
import platform
import sys

import matplotlib
import nibabel
import numba
import numpy as np

import labkit

print(f"python     {platform.python_version()} ({sys.implementation.name})")
print(f"numpy      {np.__version__}")
print(f"numba      {numba.__version__}")
print(f"matplotlib {matplotlib.__version__}")
print(f"nibabel    {nibabel.__version__}")
print(f"labkit     {labkit.__version__}  ({os.path.dirname(labkit.__file__)})")
""")
b.md(r"""
## Smoke check

If the three cells below run, your installation works. The first builds a small EDSR (Lim et
al. 2017, the network of chapters 10-12) with 8 residual blocks of 32 filters for 2x upscaling
and counts its parameters: 194,817, exactly as many as the PyTorch reference implementation
"EDSR-baseline" has in this configuration (chapter 10 explains where each one comes from).
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.models import edsr

net = edsr(2, 8, 32, seed=0)
print(f"parameters: {net.n_params:,}")
""")
b.md(r"""
The second pushes a random 24 x 24 low-resolution patch through it. The untrained network
returns noise, but of the right shape: twice the height and width.
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
import numpy as np

x = np.random.default_rng(0).random((1, 24, 24, 1), dtype=np.float32)
y = net.predict(x)
print("input ", x.shape, x.dtype)
print("output", y.shape, y.dtype)
""")
b.md(r"""
The third loads the MRI volume that the whole course uses, the MNI ICBM152 2009a T1 template,
from the files of the installed `nilearn` package (without importing nilearn itself):
""")
b.code(r"""
# NBVAL_CHECK_OUTPUT
from labkit.data import load_volume

vol = load_volume("mni152")
print("shape", vol.data.shape, vol.data.dtype, "voxel size (mm)", vol.voxel_size)
print("intensity range", float(vol.data.min()), float(vol.data.max()))
""")
b.md(r"""
## Exercises

1. Open `labkit/models.py` and find the line that makes `edsr(2, 8, 32)` different from
   `edsr(4, 8, 32)`. Predict the parameter count of the x4 model, then check it with
   `edsr(4, 8, 32).n_params`.
2. Print `net.summary((1, 24, 24, 1))`. Which layer holds the most parameters, and why?
3. Time `net.predict(x)` with `%timeit` for 24 x 24 and 48 x 48 inputs. Does the time grow with
   the number of pixels as you expect?
4. Set `LABKIT_FAST=1` in a terminal, start JupyterLab from it, and check that `FAST` above
   prints `True`.
""")
b.code(r"""
assert net.n_params == 194_817
assert y.shape == (1, 48, 48, 1) and y.dtype == np.float32
assert np.all(np.isfinite(y))
assert vol.data.shape == (197, 233, 189) and vol.data.max() == 1.0
print("index: all checks passed")
""")
b.write("00_index.ipynb")
