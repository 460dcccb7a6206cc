"""The model and MLflow sections (`model:`, `mlflow:`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hftlab.core.config import Section


class MlflowConfig(Section):
    tracking_uri: str = "sqlite:///mlruns/mlflow.db"
    artifact_location: str = "mlruns/artifacts"
    experiment: str = "hftlab"
    # None: `hftlab-signal-<world>` for the venue's data world (hftlab.settings resolves it), so models
    # trained on simulator data and on OKX data live under different names and never compete
    model_name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")


class ModelConfig(Section):
    hidden_size: int = Field(64, ge=1, le=4096)
    num_layers: int = Field(2, ge=1, le=16)
    dropout: float = Field(0.1, ge=0, lt=1)
    seq_len: int = Field(64, ge=2, le=4096)
    batch_size: int = Field(256, ge=1, le=1_000_000)
    max_epochs: int = Field(20, ge=1, le=10_000)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    lr_patience: int = Field(1, ge=0, le=1000, description="epochs without a better selection statistic before "
                                                           "the learning rate halves")
    input_noise: float = Field(0.0, ge=0, le=10, description="std of Gaussian noise added to the normalised "
                                                             "training windows (0: none)")
    horizon: int = Field(10, ge=1, description="label horizon in bars")
    dead_zone_bps: float = Field(2.0, ge=0)
    select: Literal["val_loss", "val_bal_acc"] = Field(
        "val_loss", description="what picks the epoch, drives early stopping and the learning-rate schedule")
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: int | Literal["auto"] = "auto"
    precision: Literal["32-true", "16-mixed", "bf16-mixed"] = "32-true"
    strategy: Literal["auto", "ddp", "ddp_spawn", "fsdp"] = "auto"
    seed: int = 42
