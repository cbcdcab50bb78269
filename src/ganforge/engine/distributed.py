"""Multi-process training with PyTorch's own runtime: ``torchrun`` + DistributedDataParallel.

``torchrun --nproc_per_node N -m ganforge train ...`` starts N processes with RANK, WORLD_SIZE and
LOCAL_RANK in their environment; :func:`setup` joins them into one process group (NCCL on GPUs,
gloo on CPUs). ``train.batch_size`` stays the *global* batch: every rank draws the random numbers
of the whole batch (so all ranks, and a one-process run, stay on the same random stream) and trains
on its own slice; DDP averages the gradients. Only rank 0 writes files.

Joining is opt-in (``Trainer(cfg, distributed=True)``, which ``ganforge train`` passes), so that
trainers built only to evaluate or sample inside such a launch stay single-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0  # this process's index in the group
    world: int = 1  # number of processes
    local_rank: int = 0  # index on this machine (picks the GPU)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, x: torch.Tensor | None) -> torch.Tensor | None:
        """This rank's equal slice of a global batch (B, ...) -> (B / world, ...)."""
        if x is None or self.world == 1:
            return x
        b = x.shape[0] // self.world
        return x[self.rank * b : (self.rank + 1) * b]

    def mean(self, values: list[float], device: torch.device) -> list[float]:
        """Average numbers over all ranks (every rank must pass the same number of values)."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return (t / self.world).tolist()

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def setup(device: torch.device) -> DistInfo:
    """Join the process group torchrun describes in the environment; one process needs nothing."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world=world, local_rank=local_rank)


def wrap(module: torch.nn.Module, info: DistInfo, device: torch.device) -> torch.nn.Module:
    """``module`` inside DistributedDataParallel (with synchronised batch norm on GPUs)."""
    if info.world == 1:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    if device.type == "cuda":
        module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return DDP(module, device_ids=[device.index if device.index is not None else info.local_rank])
    return DDP(module)
