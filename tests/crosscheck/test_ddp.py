"""A labkit EDSR fine-tuned with PyTorch DistributedDataParallel on 2 CPU processes, then back.

labkit designs and trains the model; ``to_torch`` hands it to PyTorch, two processes (gloo
backend, loopback only, one thread each) fine-tune it on MNI-SR training patches with DDP, and
``from_torch`` brings the result back to labkit for evaluation on MNI-SR test slices.  Checked:
both ranks end with bit-identical weights, the loss fell, the labkit forward of the returned
network equals the torch forward within 1e-5 and its PSNR is finite.  Bounded in time: 30 s for
the process group to form, 90 s for the whole run.
"""

import os
import socket
import sys
import time
from datetime import timedelta

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the DDP test needs PyTorch: pip install torch==2.13.0")
import torch.distributed as dist  # noqa: E402

from labkit.interop import from_torch, to_torch  # noqa: E402
from labkit.models import edsr  # noqa: E402
from labkit.network import Network  # noqa: E402

WORLD = 2
STEPS = 30
INIT_TIMEOUT_S = 30
RUN_TIMEOUT_S = 90
SCALE = 2


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, port, net_path, data_path, out_dir):
    """One DDP rank: fine-tune its shard for STEPS Adam steps, save its final weights."""
    # Loopback only: the address, and gloo's interface (else it picks the hostname's).
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                      GLOO_SOCKET_IFNAME="lo0" if sys.platform == "darwin" else "lo")
    torch.set_num_threads(1)          # 2 processes on 2 cores
    dist.init_process_group("gloo", rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=INIT_TIMEOUT_S))
    try:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = Network.load(net_path)
        model = to_torch(net).train()
        ddp = DDP(model)               # broadcasts rank 0's weights: all ranks start equal
        data = np.load(data_path)
        lr_all, hr_all = torch.from_numpy(data["lr"]), torch.from_numpy(data["hr"])
        lr, hr = lr_all[rank::WORLD], hr_all[rank::WORLD]          # this rank's shard

        def full_loss():
            with torch.no_grad():
                return float(torch.nn.functional.l1_loss(model(lr_all), hr_all))

        loss0 = full_loss()
        opt = torch.optim.Adam(ddp.parameters(), lr=2e-3)
        g = torch.Generator().manual_seed(100 + rank)
        for _ in range(STEPS):
            idx = torch.randperm(len(lr), generator=g)[:4]
            loss = torch.nn.functional.l1_loss(ddp(lr[idx]), hr[idx])
            opt.zero_grad()
            loss.backward()           # DDP all-reduces (averages) the gradients here
            opt.step()
        loss1 = full_loss()
        back = from_torch(ddp, like=net)          # DDP wrapper accepted directly
        state = {k.replace(".", "__"): v.detach().numpy() for k, v in model.state_dict().items()}
        np.savez(os.path.join(out_dir, f"rank{rank}.npz"), loss0=loss0, loss1=loss1,
                 n_params=back.n_params, **state)
    finally:
        dist.destroy_process_group()


def _patches(n_slices=8, size=16):
    """LR/HR training patch pairs (NCHW float32) from MNI-SR training slices, inside the brain."""
    from labkit.data import degrade, mni_sr_split

    train = mni_sr_split()["train"]
    picks = np.linspace(20, len(train) - 20, n_slices).astype(int)
    lr, hr = [], []
    for z in picks:
        h = train[z]
        low = degrade(h, SCALE)
        for (i, j) in [(30, 35), (30, 60), (55, 35), (55, 60)]:      # LR coordinates
            lr.append(low[i:i + size, j:j + size])
            hr.append(h[SCALE * i:SCALE * (i + size), SCALE * j:SCALE * (j + size)])
    return (np.stack(lr)[:, None].astype(np.float32), np.stack(hr)[:, None].astype(np.float32))


@pytest.mark.slow
def test_ddp_fine_tune_two_cpu_ranks_and_back(tmp_path):
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this torch build has no torch.distributed gloo backend")
    import torch.multiprocessing as mp

    from labkit.data import degrade, mni_sr_split
    from labkit.metrics import psnr

    torch.set_num_threads(1)
    net = edsr(SCALE, n_blocks=2, n_filters=8, seed=0)
    net_path = net.save(tmp_path / "start.npz")
    lr, hr = _patches()
    np.savez(tmp_path / "data.npz", lr=lr, hr=hr)

    t0 = time.monotonic()
    ctx = mp.start_processes(_worker, args=(_free_port(), str(net_path), str(tmp_path / "data.npz"),
                                            str(tmp_path)),
                             nprocs=WORLD, join=False, start_method="spawn")
    try:
        while not ctx.join(timeout=1.0):          # raises if a rank failed, with its traceback
            if time.monotonic() - t0 > RUN_TIMEOUT_S:
                pytest.fail(f"DDP run did not finish within {RUN_TIMEOUT_S} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
                p.join(5)
    seconds = time.monotonic() - t0
    print(f"DDP: {WORLD} ranks x {STEPS} steps in {seconds:.1f} s")

    ranks = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(WORLD)]
    keys = sorted(k for k in ranks[0] if k not in ("loss0", "loss1", "n_params"))
    for k in keys:
        assert np.array_equal(ranks[0][k], ranks[1][k]), f"ranks differ in {k}"
    loss0, loss1 = float(ranks[0]["loss0"]), float(ranks[0]["loss1"])
    assert float(ranks[1]["loss1"]) == loss1
    assert loss1 < 0.8 * loss0, f"L1 loss did not fall: {loss0:.4f} -> {loss1:.4f}"
    assert int(ranks[0]["n_params"]) == net.n_params

    # Back to labkit: the rank-0 state dict is enough.
    state = {k.replace("__", "."): v for k, v in ranks[0].items() if k in keys}
    tuned = from_torch(state, like=net)
    hr_test = mni_sr_split()["test"][[0, 10]]
    lr_test = np.stack([degrade(s, SCALE) for s in hr_test])[..., None].astype(np.float32)
    sr = tuned.predict(lr_test)
    scores = [psnr(sr[i, ..., 0], hr_test[i], crop=SCALE) for i in range(len(sr))]
    assert all(np.isfinite(scores)), scores
    module = to_torch(net)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    with torch.no_grad():
        yt = module(torch.from_numpy(lr_test.transpose(0, 3, 1, 2).copy())).numpy()
    err = float(np.max(np.abs(sr - yt.transpose(0, 2, 3, 1))))
    assert err <= 1e-5, f"labkit forward of from_torch(...) vs torch forward: {err:.3g}"
    print(f"DDP: L1 {loss0:.4f} -> {loss1:.4f}; PSNR on 2 MNI-SR test slices "
          f"{np.round(scores, 2).tolist()} dB; max |labkit - torch| = {err:.3g}")
