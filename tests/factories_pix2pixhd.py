"""Tiny pix2pixHD models for tests: random weights, our format, fast on a CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from engine.checkpoints import ModelCard, save_model
from engine.instance_synthesis import BANK_PREFIX, bank_to_tensors
from engine.labels import get_label_set
from engine.models.pix2pixhd import FeatureEncoder, Pix2PixHDConfig, build_generator

TINY_NATIVE_SIZE = (32, 64)


def tiny_bank(feat_num: int = 3, seed: int = 0) -> dict[int, np.ndarray]:
    """Codes for road (7, one choice), person (24, three) and car (26, two); other classes have none."""
    rng = np.random.default_rng(seed)
    return {c: rng.uniform(-1, 1, (k, feat_num)).astype(np.float32) for c, k in [(7, 1), (24, 3), (26, 2)]}


def make_tiny_pix2pixhd(
    folder: Path,
    label_set: str = "cityscapes",
    *,
    name: str = "tiny-hd",
    local: bool = True,
    feat_num: int = 3,
    encoder: bool = True,
    bank: dict[int, np.ndarray] | None = None,
    seed: int = 0,
) -> Path:
    """Write a compact pix2pixHD model (native 32x64, size multiple 8 or 4) and return the folder.

    With ``feat_num`` the bank defaults to ``tiny_bank``; pass ``{}`` for a model without one.
    """
    torch.manual_seed(seed)
    labels = get_label_set(label_set)
    config = Pix2PixHDConfig(
        label_nc=labels.num_channels,
        feat_num=feat_num,
        ngf=2,
        n_downsample_global=2,
        n_blocks_global=1,
        n_local_enhancers=int(local),
        n_blocks_local=1,
        nef=2,
        n_downsample_E=2,
        has_encoder=encoder and feat_num > 0,
        native_size=TINY_NATIVE_SIZE,
    )
    networks: dict = {"G": build_generator(config)}
    if config.has_encoder:
        networks["E"] = FeatureEncoder(config)
    if feat_num:
        networks[BANK_PREFIX] = bank_to_tensors(tiny_bank(feat_num) if bank is None else bank)
    card = ModelCard(
        name=name,
        kind="pix2pixhd",
        architecture=config.to_dict(),
        label_set=labels.to_dict(),
        native_size=config.native_size,
        description="random weights, for tests",
    )
    return save_model(folder, card, networks)
