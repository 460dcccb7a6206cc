"""Lightning data module over one walk-forward fold: sliding windows gathered batch by batch.

Windows are not materialised: a batch of end rows is turned into (B, seq_len, n_features) by one
fancy index into the fold's normalised feature matrix (`__getitems__`, which torch's fetcher
calls with a batch's indices), so memory stays O(rows * features) however long the window. The
loaders are plain `DataLoader(batch_size, shuffle)` so that Lightning can swap in a
DistributedSampler under DDP. Shuffling draws from a generator seeded per fold.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from hftlab.models.data import FoldData


def _as_is(batch):
    return batch


class WindowBatches(Dataset):
    """Sample k is (window ending at ends[k], class index); a list of k gives stacked tensors."""

    def __init__(self, fold: FoldData, ends: np.ndarray):
        self.x = torch.from_numpy(fold.x)
        self.y = torch.from_numpy(fold.y)
        self.ends = torch.from_numpy(ends)
        self.offsets = torch.arange(-fold.seq_len + 1, 1)

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        end = self.ends[k]
        return self.x[end + self.offsets], self.y[end]

    def __getitems__(self, positions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        ends = self.ends[torch.as_tensor(positions)]
        return self.x[ends[:, None] + self.offsets], self.y[ends]


class WindowDataModule(L.LightningDataModule):
    def __init__(self, fold: FoldData, batch_size: int, seed: int):
        super().__init__()
        self.fold = fold
        self.batch_size = batch_size
        self.seed = seed

    def _loader(self, ends: np.ndarray, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        return DataLoader(WindowBatches(self.fold, ends), batch_size=self.batch_size, shuffle=shuffle,
                          generator=generator, collate_fn=_as_is)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.fold.train_ends, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.fold.val_ends, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.fold.test_ends, shuffle=False)
