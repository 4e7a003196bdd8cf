"""Data order that can be resumed in the middle of an epoch, on one process or many."""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import Dataset, DistributedSampler


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` (shuffled per epoch from ``seed``, equal shards, tail dropped) that
    yields ``(index, epoch)`` keys and can start after ``batches_done`` batches of an epoch.

    The order depends only on (seed, epoch), so a resumed run sees exactly the samples the
    interrupted one would have seen next. With one process it is a plain seeded shuffle.
    """

    def __init__(
        self, dataset: Dataset, batch_size: int, *, num_replicas: int = 1, rank: int = 0, seed: int = 0
    ):
        super().__init__(
            dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True
        )
        self.batch_size = batch_size
        self.batches_done = 0

    @property
    def batches_per_epoch(self) -> int:
        return self.num_samples // self.batch_size

    def set_position(self, epoch: int, batches_done: int) -> None:
        self.set_epoch(epoch)
        self.batches_done = batches_done

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        indices = list(super().__iter__())[: self.batches_per_epoch * self.batch_size]
        for index in indices[self.batches_done * self.batch_size :]:
            yield index, self.epoch

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.batches_done) * self.batch_size
