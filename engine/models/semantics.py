"""The label-map input of the conditional generators, kept as integer indices.

The official code feeds a one-hot tensor (hundreds of channels) to every layer and resizes it
each time. We keep the channel index map instead: nearest resizing an index map is exactly the
one-hot of the resized map, and the convolutions over it become lookups (see ``LabelConv3x3``).
OASIS's 3D noise (dense channels concatenated to the one-hot map) travels with it, resized alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def instance_edges(instances: Tensor) -> Tensor:
    """Boundary map of an instance-id map (N, H, W): 1 where any 4-neighbour has another id.

    Both pixels of every differing horizontal or vertical pair are marked, as in SPADE and
    pix2pixHD. Returns float (N, 1, H, W).
    """
    edge = torch.zeros(instances.shape, dtype=torch.bool, device=instances.device)
    dx = instances[:, :, 1:] != instances[:, :, :-1]
    dy = instances[:, 1:, :] != instances[:, :-1, :]
    edge[:, :, 1:] |= dx
    edge[:, :, :-1] |= dx
    edge[:, 1:, :] |= dy
    edge[:, :-1, :] |= dy
    return edge.unsqueeze(1).float()


def resize_nearest(x: Tensor, size: tuple[int, int]) -> Tensor:
    """PyTorch's legacy nearest resize (source index = floor(dst * in / out)), as the official code."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="nearest")


class SemanticMap:
    """Channel-index map (N, H, W) plus optional instance-edge and noise maps, resized on demand.

    ``num_classes`` counts the label channels (classes plus the don't-care channel, if any);
    the edge map, when present, is the extra last channel of the official one-hot input.
    ``noise`` is OASIS's 3D noise: a map (N, C, H, W), or a vector per image (N, C) that stands
    for that vector replicated over every pixel (kept as such, so layers can use the shortcut of a
    spatially constant input). Resized copies are cached, since every normalization layer asks
    for its own size.
    """

    def __init__(
        self, labels: Tensor, num_classes: int, edges: Tensor | None = None, noise: Tensor | None = None
    ):
        if labels.dim() != 3:
            raise ValueError(f"labels must be (N, H, W), got {tuple(labels.shape)}")
        self.labels = labels.long()
        self.num_classes = num_classes
        self.edges = edges
        self._noise_vector: Tensor | None = None
        self._noise_map: Tensor | None = None
        if noise is not None:
            n, h, w = labels.shape
            if noise.dim() == 2 and noise.shape[0] == n:
                self._noise_vector = noise
            elif noise.dim() == 4 and (noise.shape[0], *noise.shape[2:]) == (n, h, w):
                self._noise_map = noise
            else:
                raise ValueError(
                    f"noise must be (N, C) or (N, C, {h}, {w}) with N={n}, got {tuple(noise.shape)}"
                )
        self._uniform_checked = self._noise_map is None
        self._cache: dict[tuple[int, int], SemanticMap] = {}
        self._bags: Tensor | None = None
        self._boundary: Tensor | None = None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.labels.shape[-2]), int(self.labels.shape[-1])

    @property
    def has_edges(self) -> bool:
        return self.edges is not None

    @property
    def noise_nc(self) -> int:
        """Channels of the 3D noise (0: none)."""
        noise = self._noise_vector if self._noise_vector is not None else self._noise_map
        return 0 if noise is None else int(noise.shape[1])

    @property
    def noise(self) -> Tensor | None:
        """The 3D noise as a map (N, C, H, W) (a broadcast view for a per-image vector), or None."""
        if self._noise_vector is not None:
            n, h, w = self.labels.shape
            return self._noise_vector[:, :, None, None].expand(n, -1, h, w)
        return self._noise_map

    def uniform_noise(self) -> Tensor | None:
        """(N, C): the noise vector of each image if the noise is spatially constant, else None.

        Checked once per size: a constant input makes the label convs and the per-class shortcut of
        SPADE's modulation cheap again.
        """
        if not self._uniform_checked:
            corner = self._noise_map[:, :, :1, :1]
            if bool((self._noise_map == corner).all()):
                self._noise_vector, self._noise_map = corner[:, :, 0, 0], None
            self._uniform_checked = True
        return self._noise_vector

    def at(self, size: tuple[int, int]) -> SemanticMap:
        """This map nearest-resized from the full-resolution input to ``size``."""
        size = (int(size[0]), int(size[1]))
        if size == self.size:
            return self
        if size not in self._cache:
            labels = resize_nearest(self.labels.unsqueeze(1).float(), size).squeeze(1).long()
            edges = None if self.edges is None else resize_nearest(self.edges, size)
            noise = self._noise_vector
            if self._noise_map is not None:
                noise = resize_nearest(self._noise_map, size)
            self._cache[size] = SemanticMap(labels, self.num_classes, edges, noise)
        return self._cache[size]

    def one_hot(self) -> Tensor:
        """The official input tensor: one-hot classes (+ don't care) (+ edge channel last)."""
        one_hot = F.one_hot(self.labels, self.num_classes).permute(0, 3, 1, 2).float()
        if self.edges is not None:
            one_hot = torch.cat([one_hot, self.edges.to(one_hot.dtype)], dim=1)
        return one_hot

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> SemanticMap:
        edges = None if self.edges is None else self.edges.to(device=device, dtype=dtype)
        noise = self._noise_vector if self._noise_vector is not None else self._noise_map
        noise = None if noise is None else noise.to(device=device, dtype=dtype)
        return SemanticMap(self.labels.to(device), self.num_classes, edges, noise)

    def boundary_mask(self) -> Tensor:
        """(N, H, W) bool: pixels whose 5x5 neighbourhood is not one class without edges, or that lie
        within 2 pixels of the border. Everywhere else two stacked 3x3 label convs see a constant input.
        """
        if self._boundary is None:
            labels = self.labels.unsqueeze(1).float()
            high = F.max_pool2d(labels, 5, stride=1, padding=2)
            low = -F.max_pool2d(-labels, 5, stride=1, padding=2)
            mask = high != low
            if self.edges is not None:
                mask |= F.max_pool2d(self.edges.float(), 5, stride=1, padding=2) != 0
            mask[..., :2, :] = True
            mask[..., -2:, :] = True
            mask[..., :, :2] = True
            mask[..., :, -2:] = True
            self._boundary = mask[:, 0]
        return self._boundary

    def bags(self) -> tuple[Tensor, Tensor | None]:
        """Indices (and weights) for the ``embedding_bag`` behind ``LabelConv3x3``; (N*H*W, taps).

        Table rows: k*C + c is "class c at kernel tap k" (k = ky*3 + kx), 9C + k is the edge channel
        at tap k, 9C + 9 is a zero row (taps outside the image: zero padding), 9C + 10 the bias.
        Edge taps are weighted by the edge value there. Cached: every layer at this size reuses it.
        """
        if self._bags is None:
            n, h, w = self.labels.shape
            c = self.num_classes
            zero_row, bias_row = 9 * c + 9, 9 * c + 10
            labels = F.pad(self.labels, (1, 1, 1, 1), value=-1)
            taps = [labels[:, ky : ky + h, kx : kx + w] for ky in range(3) for kx in range(3)]
            indices = [torch.where(t < 0, zero_row, t + k * c) for k, t in enumerate(taps)]
            weights = None
            if self.edges is not None:
                edges = F.pad(self.edges[:, 0].float(), (1, 1, 1, 1))
                indices += [torch.full_like(self.labels, 9 * c + k) for k in range(9)]
                weights = [torch.ones(n, h, w, device=edges.device)] * 9
                weights += [edges[:, ky : ky + h, kx : kx + w] for ky in range(3) for kx in range(3)]
                weights.append(weights[0])
                weights = torch.stack(weights, dim=-1).reshape(n * h * w, -1)
            indices.append(torch.full_like(self.labels, bias_row))
            self._bags = (torch.stack(indices, dim=-1).reshape(n * h * w, -1), weights)
        return self._bags
