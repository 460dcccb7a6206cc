"""Training the AttentionLSTM with Lightning: loss, metrics, schedule, early stopping, fitting.

Cross-entropy over down/flat/up weighted by inverse class frequency (a majority-heavy label set
otherwise teaches "always flat"); optional Gaussian noise on the training inputs (`input_noise`, in
units of the normalised features; validation and prediction see the clean windows); AdamW; the
learning rate halves when the selection statistic stalls for `lr_patience` epochs; gradients
clipped by norm; early stopping, the schedule and the epoch whose weights are returned (kept in
memory, no checkpoint files) follow `select`: the validation loss (default), or the validation
balanced accuracy, the statistic the evaluation reports (a class-weighted loss can stay flat while
the model learns to rank the classes: the simulator's temporal signal is found that way). Metrics
(torchmetrics, synced across DDP ranks): accuracy, balanced accuracy (macro recall), macro F1,
macro one-vs-rest AUC.

Accelerator, devices, precision and strategy come from ModelConfig; `accelerator="auto"` takes a
GPU when there is one. `seed_everything` plus deterministic algorithms make a seed reproduce the
same weights and metrics on the same hardware.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassAUROC, MulticlassF1Score

from hftlab.models.data import N_CLASSES, FoldData
from hftlab.models.datamodule import WindowDataModule
from hftlab.models.lstm import AttentionLSTM, NetConfig

log = logging.getLogger("hftlab.models")


class SignalModule(L.LightningModule):
    def __init__(self, net_cfg: dict, class_weights: list[float], learning_rate: float,
                 weight_decay: float = 1e-4, lr_patience: int = 1, input_noise: float = 0.0,
                 monitor: str = "val_loss"):
        super().__init__()
        self.save_hyperparameters()
        self.net = AttentionLSTM(NetConfig(**net_cfg))
        self.register_buffer("class_weights", torch.tensor(class_weights, dtype=torch.float32))
        metrics = MetricCollection({
            "acc": MulticlassAccuracy(N_CLASSES, average="micro"),
            "bal_acc": MulticlassAccuracy(N_CLASSES, average="macro"),
            "f1": MulticlassF1Score(N_CLASSES, average="macro"),
            "auc": MulticlassAUROC(N_CLASSES, average="macro"),
        })
        self.train_metrics = MetricCollection({"bal_acc": MulticlassAccuracy(N_CLASSES, average="macro")},
                                              prefix="train_")
        self.val_metrics = metrics.clone(prefix="val_")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), y, weight=self.class_weights)

    def training_step(self, batch, batch_idx):
        x, y = batch
        if self.hparams.input_noise > 0:
            # Gaussian noise on the normalised inputs (training only): the network cannot fit the exact
            # paths of slow, smooth features and has to find what holds across windows
            x = x + self.hparams.input_noise * torch.randn_like(x)
        logits = self.net(x)
        loss = self._loss(logits, y)
        self.train_metrics.update(logits.detach().float(), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=len(y))
        self.log_dict(self.train_metrics, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", self._loss(logits, y), on_step=False, on_epoch=True, sync_dist=True, batch_size=len(y))
        self.val_metrics.update(torch.softmax(logits.float(), dim=-1), y)
        self.log_dict(self.val_metrics, on_step=False, on_epoch=True)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.hparams.learning_rate,
                                weight_decay=self.hparams.weight_decay)
        monitor = self.hparams.monitor
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode=MODES[monitor], factor=0.5,
                                                           patience=self.hparams.lr_patience)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": monitor}}


MODES = {"val_loss": "min", "val_bal_acc": "max"}  # what `ModelConfig.select` may name, and which way is better


class BestWeights(L.Callback):
    """Remember the weights of the best epoch by `monitor` (lowest validation loss, or highest validation
    balanced accuracy); restore them at the end. `best_loss` is that epoch's validation loss."""

    def __init__(self, monitor: str = "val_loss") -> None:
        self.monitor, self.sign = monitor, 1.0 if MODES[monitor] == "min" else -1.0
        self.best_score = float("inf")
        self.best_loss = float("inf")
        self.best_epoch = -1
        self.state: dict | None = None

    def on_validation_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        score = self.sign * float(trainer.callback_metrics[self.monitor])
        if score < self.best_score:
            self.best_score, self.best_epoch = score, trainer.current_epoch
            self.best_loss = float(trainer.callback_metrics["val_loss"])
            self.state = {k: v.detach().clone() for k, v in pl_module.net.state_dict().items()}

    def on_fit_end(self, trainer, pl_module) -> None:
        if self.state is not None:
            pl_module.net.load_state_dict(self.state)


class EpochHistory(L.Callback):
    """Per-epoch metrics as plain floats, handed to `sink(metrics, epoch)` on rank 0 (e.g. MLflow)."""

    def __init__(self, sink: Callable[[dict[str, float], int], None] | None = None):
        self.sink = sink
        self.rows: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        row = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        row["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
        self.rows.append({"epoch": trainer.current_epoch, **row})
        if trainer.is_global_zero:
            log.info("epoch %d: %s", trainer.current_epoch,
                     ", ".join(f"{k} {row[k]:.4f}" for k in ("train_loss", "val_loss", "val_bal_acc", "val_auc") if k in row))
            if self.sink is not None:
                self.sink(row, trainer.current_epoch)


@dataclass
class FitResult:
    net: AttentionLSTM
    history: list[dict[str, float]]
    best_epoch: int
    best_val_loss: float
    epochs_run: int
    device: str


def fit(fold: FoldData, cfg, *, seed: int, patience: int = 3, gradient_clip: float = 1.0,
        sink: Callable[[dict[str, float], int], None] | None = None, progress: bool = False,
        root_dir: str | None = None) -> FitResult:
    """Train on fold.train_ends, early-stop on fold.val_ends. `cfg` is a hftlab.models.config.ModelConfig.

    The strategy must run the fit in this process or in launched copies of it (auto, ddp):
    ddp_spawn fits in spawned children and would not bring back what the callbacks keep (the best
    weights, the history); hftlab.models.experiment.plan refuses it."""
    if torch.cuda.is_available():
        # cuBLAS needs this for deterministic results; it must be set before the first CUDA call
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # Lightning's info lines (GPU available, tips) and one internal deprecation are noise for our users
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    L.seed_everything(seed, workers=True, verbose=False)
    net_cfg = NetConfig(fold.n_features, cfg.hidden_size, cfg.num_layers, cfg.dropout, fold.seq_len)
    module = SignalModule(net_cfg.to_dict(), fold.class_weights().tolist(), cfg.learning_rate,
                          lr_patience=cfg.lr_patience, input_noise=cfg.input_noise, monitor=cfg.select)
    best, history = BestWeights(cfg.select), EpochHistory(sink)
    trainer = L.Trainer(
        max_epochs=cfg.max_epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        precision=cfg.precision,
        strategy=cfg.strategy,
        deterministic=True,
        gradient_clip_val=gradient_clip,
        callbacks=[L.pytorch.callbacks.EarlyStopping(cfg.select, patience=patience, mode=MODES[cfg.select]), best,
                   history],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        num_sanity_val_steps=0,
        default_root_dir=root_dir,
    )
    trainer.fit(module, datamodule=WindowDataModule(fold, cfg.batch_size, seed))
    net = copy.deepcopy(module.net).cpu().eval()
    return FitResult(net, history.rows, best.best_epoch, best.best_loss, trainer.current_epoch,
                     str(trainer.strategy.root_device))


@torch.inference_mode()
def predict_proba(net: AttentionLSTM, fold: FoldData, ends: np.ndarray, batch_size: int = 1024,
                  device: str | torch.device = "cpu") -> np.ndarray:
    """Class probabilities (len(ends), 3) of the windows ending at `ends` (already normalised)."""
    net = net.to(device).eval()
    x = torch.from_numpy(fold.x)
    offsets = torch.arange(-fold.seq_len + 1, 1)
    ends_t = torch.from_numpy(ends)
    out = []
    for i in range(0, len(ends_t), batch_size):
        xb = x[ends_t[i:i + batch_size, None] + offsets].to(device)
        out.append(torch.softmax(net(xb).float(), dim=-1).cpu())
    net.cpu()
    return torch.cat(out).numpy().astype(np.float64) if out else np.empty((0, N_CLASSES))
