"""Several training processes (launched by torchrun): who is who, sharding, and agreement between processes.
A single process is a cluster of one, where every operation is the identity."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import NoReturn
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import SlotfillError

STOP_GRACE = 10  # seconds


@dataclass(frozen=True)
class Cluster:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 evaluates, logs and writes the model directory."""
        return self.rank == 0

    def shard(self, batches: list) -> list:
        """This process's share of an epoch's batches; every process gets as many (the few left over are skipped)."""
        if self.world == 1:
            return batches
        return batches[: len(batches) // self.world * self.world][self.rank::self.world]

    def sum(self, *values: float) -> list[float]:
        """`values` summed over the processes."""
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def gather(self, value) -> list:
        """`value` of every process (picklable plain data), by rank."""
        if self.world == 1:
            return [value]
        values = [None] * self.world
        dist.all_gather_object(values, value)
        return values

    def from_main(self, work: Callable[[], object]):
        """`work()` run by rank 0 and its result sent to all; a SlotfillError there is raised everywhere."""
        if self.world == 1:
            return work()
        payload = [None]
        if self.main:
            try:
                payload[0] = ("ok", work())
            except SlotfillError as err:
                payload[0] = ("error", str(err))
        dist.broadcast_object_list(payload, src=0)
        status, value = payload[0]
        if status == "error":
            self.stop(value)
        return value

    def stop(self, message: str) -> NoReturn:
        """Raise `message` as a SlotfillError; the other processes wait for rank 0 to go first, so that
        torchrun reports rank 0's error (and stops them)."""
        if not self.main:
            try:
                dist.barrier()  # rank 0 never arrives; its exit ends the wait
            except Exception:  # noqa: BLE001 - the connection closed by rank 0's exit
                time.sleep(STOP_GRACE)  # for torchrun to see rank 0's exit first, and stop this process
        raise SlotfillError(message)

    def wait(self) -> None:
        """Until every process gets here."""
        if self.world > 1:
            dist.barrier()

    def wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        """DistributedDataParallel around `module` (parameters broadcast from rank 0), or `module` itself."""
        if self.world == 1:
            return module
        return torch.nn.parallel.DistributedDataParallel(module)


def join(device_type: str) -> Cluster:
    """The cluster torchrun started this process in (gloo on the CPU, nccl on CUDA), or a cluster of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Cluster()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)  # nccl's object collectives use the current device
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return Cluster(dist.get_rank(), dist.get_world_size(), local_rank)


def leave(cluster: Cluster) -> None:
    if cluster.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
