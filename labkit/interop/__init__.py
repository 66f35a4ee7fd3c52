"""Moving a labkit network to PyTorch and ONNX and back (optional extras).

labkit is where a model is designed and learned; PyTorch (``DistributedDataParallel``, GPUs) is
where it scales and ONNX is how it ships.  One model moves between them:

* :func:`to_torch` -- a ``torch.nn.Module`` (NCHW) computing ``net.forward(x, training=False)``;
* :func:`from_torch` -- the weights of such a module copied back into a labkit
  :class:`~labkit.network.Network`;
* :func:`export_onnx` / :func:`export_checkpoint` -- an ONNX file (opset >= 17) with dynamic
  batch, height and width, what ``labkit export CHECKPOINT OUT.onnx`` writes.

Neither labkit nor ``import labkit.interop`` needs PyTorch: torch, onnx and onnxruntime are
imported inside the functions, which raise :class:`ImportError` with the pip command when they
are missing (``pip install torch==2.13.0`` and ``pip install "labkit[export]"`` for onnx and
onnxruntime).  See ``docs/interop.md``.
"""

from __future__ import annotations

from labkit.interop.convert import SUPPORTED_LAYERS, from_torch, to_torch
from labkit.interop.export import export_checkpoint, export_onnx

__all__ = ["to_torch", "from_torch", "export_onnx", "export_checkpoint", "SUPPORTED_LAYERS"]
