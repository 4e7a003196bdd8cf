"""pix2pixHD's feature bank: the encoder's code of every training instance, k-means per class.

At inference a user picks one of a few looks per class (or the seed picks one): these are the
centres of the codes that the trained encoder E gives the instances of the training photos.
As in the paper, only instances covering more than 1/64 of the image are clustered (small ones
give noisy means). The bank is kept in the run folder with the checkpoint step it was made from,
and exported into the model under the ``bank`` prefix (``engine.instance_synthesis``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import Tensor

from engine.checkpoints import atomic_write_bytes
from engine.errors import CheckpointError
from engine.instance_synthesis import FeatureBank, bank_to_tensors
from engine.models.pix2pixhd import instance_means

MIN_INSTANCE_AREA = 1 / 64  # of the image: the paper's (official 0.5 * H * W / 32)
BANK_FILE = "feature_bank.safetensors"


def instance_codes(
    features: Tensor, instances: Tensor, labels: Tensor, num_channels: int
) -> tuple[Tensor, Tensor, Tensor]:
    """(channel (K,), code (K, C), area fraction (K,)) of every instance of one image.

    ``features`` (C, H, W) is E's output before pooling, ``instances`` (H, W) the instance ids and
    ``labels`` (H, W) the label channels. An instance's code is its mean feature (what the pooled
    map holds); its class is the label most of its pixels carry, whatever its id looks like.
    """
    _, means, inverse = instance_means(features, instances)
    count = means.shape[0]
    votes = torch.bincount(inverse * num_channels + labels.reshape(-1), minlength=count * num_channels)
    channels = votes.view(count, num_channels).argmax(1)
    areas = torch.bincount(inverse, minlength=count).double() / inverse.numel()
    return channels, means, areas


def kmeans(points: np.ndarray, k: int, *, seed: int = 0, iterations: int = 300) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; returns min(k, distinct points) centres, float32.

    Deterministic for a seed. A cluster left empty is restarted at the point farthest from its
    centre, so every returned centre is the mean of at least one point.
    """
    points = np.asarray(points, np.float64)
    k = min(k, len(np.unique(points, axis=0)))
    if k < 1:
        return np.zeros((0, points.shape[-1]), np.float32)
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(len(points))]]
    nearest = np.square(points - centres[0]).sum(1)
    for _ in range(1, k):  # distinct: a chosen point is never at distance 0 from the centres so far
        chosen = points[rng.choice(len(points), p=nearest / nearest.sum())]
        centres.append(chosen)
        nearest = np.minimum(nearest, np.square(points - chosen).sum(1))
    centres = np.stack(centres)
    assignment = None
    for _ in range(iterations):
        distances = np.square(points[:, None] - centres[None]).sum(-1)
        new = distances.argmin(1)
        if assignment is not None and (new == assignment).all():
            break
        assignment = new
        for j in range(k):
            members = points[assignment == j]
            if len(members):
                centres[j] = members.mean(0)
            else:
                centres[j] = points[distances[np.arange(len(points)), assignment].argmax()]
    return centres.astype(np.float32)


def cluster_codes(codes: Mapping[int, np.ndarray], k: int, seed: int = 0) -> FeatureBank:
    """class id -> (n, feat_num) codes  =>  class id -> (<= k, feat_num) centres."""
    return {c: kmeans(points, k, seed=seed) for c, points in sorted(codes.items()) if len(points)}


def write_bank(run_dir: Path, bank: Mapping[int, np.ndarray], step: int) -> Path:
    """Save the bank into the run folder, with the checkpoint step whose encoder made it."""
    path = Path(run_dir) / BANK_FILE
    atomic_write_bytes(path, save(bank_to_tensors(bank), metadata={"step": str(step)}))
    return path


def read_bank(run_dir: Path) -> tuple[dict[str, Tensor], int] | None:
    """(tensors by class id, step) of the run's bank, or None when the run has not been clustered."""
    path = Path(run_dir) / BANK_FILE
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="pt") as file:
            step = int((file.metadata() or {})["step"])
            return {key: file.get_tensor(key) for key in file.keys()}, step  # noqa: SIM118 (no mapping)
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise CheckpointError(
            f"the feature bank {path} is damaged ({exc}); run the cluster command again"
        ) from None
