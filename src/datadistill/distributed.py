"""Multi-process runs under torchrun: which share of the work this process does, and how shares combine.

`torchrun --nproc-per-node N -m datadistill distill ...` starts N copies of the command. Each joins the process
group torchrun describes in its environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) through init_world():
gloo on CPU, NCCL on CUDA. Work that is independent by index splits round-robin (process r takes items
r, r + N, r + 2N, ...): the classes of DC / DSA / DM, the experts of a buffer, the models of an evaluation.
Every process draws the same random numbers from the same seeded generators, so a split run computes what one
process computes (up to float summation order); only rank 0 writes files and prints.

One process (no torchrun, or WORLD_SIZE=1) is World(0, 1): every helper is then a no-op.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import torch

from .errors import ConfigError

T = TypeVar("T")


def _dist() -> Any:
    import torch.distributed as dist

    return dist


@dataclass(frozen=True)
class World:
    """This process's rank among `size` processes."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes files and prints."""
        return self.rank == 0

    def share(self, n: int) -> range:
        """The indices among 0..n-1 this process works on (round-robin)."""
        return range(self.rank, n, self.size)

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum `tensor` over all processes, in place; returns it."""
        if self.size > 1:
            _dist().all_reduce(tensor)
        return tensor

    def gather(self, items: dict[int, T]) -> dict[int, T]:
        """Merge every process's {index: value} into one dict (all processes get it)."""
        if self.size == 1:
            return dict(items)
        parts: list[Any] = [None] * self.size
        _dist().all_gather_object(parts, items)
        return {k: v for part in parts for k, v in part.items()}

    def from_main(self, value: T) -> T:
        """Rank 0's `value`, on every process."""
        if self.size == 1:
            return value
        box = [value]
        _dist().broadcast_object_list(box, src=0)
        return box[0]

    def on_main(self, fn: Callable[[], T]) -> T:
        """Run fn on rank 0 only and hand its result (or its exception) to every process."""
        if self.size == 1:
            return fn()
        outcome: tuple[bool, Any] = (True, None)
        if self.main:
            try:
                outcome = (True, fn())
            except Exception as e:  # re-raised on every rank, so none waits forever
                outcome = (False, e)
        ok, value = self.from_main(outcome)
        if not ok:
            raise value
        return value

    def barrier(self) -> None:
        """Wait until every process gets here."""
        if self.size > 1:
            _dist().barrier()


SINGLE = World()


def current_world() -> World:
    """The world of an initialised process group, else one process."""
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return SINGLE


def launched_size() -> int:
    """How many processes torchrun started for this job (1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_processes() -> int:
    """How many processes of this job share this machine (torchrun's LOCAL_WORLD_SIZE; 1 without)."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", "1"))


def init_world(device: str | torch.device = "cpu") -> World:
    """Join the process group torchrun set up (gloo on CPU, NCCL on CUDA); one process without torchrun."""
    if launched_size() <= 1:
        return SINGLE
    dist = _dist()
    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; run with one process (without torchrun)")
    if not dist.is_initialized():
        kind = torch.device(device).type
        if kind == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        elif kind != "cpu":
            raise ConfigError(f"multi-process runs support cpu (gloo) and cuda (nccl), not {kind}; "
                              "pass --device cpu or run with one process")
        dist.init_process_group("nccl" if kind == "cuda" else "gloo")
    return current_world()


def close_world(wait: bool = True) -> None:
    """Leave the process group this process joined (no-op without one).

    wait=True first waits for every process, so none tears its connections down while another still talks;
    pass wait=False on an error path, where the others may never arrive. Leaving explicitly matters: a gloo
    group left to interpreter shutdown can abort the process ("terminate called without an active exception").
    """
    dist = _dist()
    if not (dist.is_available() and dist.is_initialized()):
        return
    if wait:
        dist.barrier()
    dist.destroy_process_group()
