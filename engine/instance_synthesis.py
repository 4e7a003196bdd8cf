"""pix2pixHD at inference: label map + instance map (+ one feature code per instance) -> photo.

Each instance's look is a short code (``feat_num`` floats) painted over the instance as extra
input channels. Codes come from the user (``features``), from the feature encoder applied to a
photo (``encode_features``), or from the model's feature bank: a few k-means centres per class
(the official ``features_clustered_010.npy``), one picked per instance from the seed.
"""

from __future__ import annotations

import codecs
import io
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from engine.checkpoints import (
    ModelCard,
    architecture_from_card,
    load_checked,
    read_state_dict,
    read_weights,
    save_model,
)
from engine.errors import CheckpointError, InferenceError
from engine.label_runtime import LabelMapModel
from engine.labels import LabelSet, get_label_set
from engine.models.pix2pixhd import (
    FeatureEncoder,
    GlobalGenerator,
    LocalEnhancer,
    Pix2PixHDConfig,
    build_generator,
    generator_input,
    instance_means,
    native_size_for,
)
from engine.models.semantics import instance_edges
from engine.session import friendly_oom, image_to_tensor, resize_ids, tensor_to_uint8

FeatureBank = dict[int, np.ndarray]  # class id -> (k, feat_num) float32 codes to pick from
BANK_PREFIX = "bank"
THING_ID_BASE = 1000  # official instance ids: the class id for stuff, class * 1000 + k for things
LICENSE = (
    "BSD (NVIDIA/pix2pixHD LICENSE.txt); trained on Cityscapes, whose terms allow non-commercial use only"
)


def instance_class(instance_id: int) -> int:
    """Class of an instance id by the official convention."""
    return instance_id if instance_id < THING_ID_BASE else instance_id // THING_ID_BASE


# --- feature bank ------------------------------------------------------------------------------------------


def bank_to_tensors(bank: Mapping[int, np.ndarray]) -> dict[str, Tensor]:
    """Tensors to save under the ``bank`` prefix: ``<class_id>`` -> (k, feat_num) float32."""
    return {str(int(c)): torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for c, v in bank.items()}


def bank_from_tensors(tensors: Mapping[str, Tensor], feat_num: int, source: str) -> FeatureBank:
    bank: FeatureBank = {}
    for key, value in tensors.items():
        if not key.isdigit() or value.dim() != 2 or value.shape[1] != feat_num:
            raise CheckpointError(
                f"{source} has a damaged feature bank entry '{BANK_PREFIX}.{key}' with shape "
                f"{tuple(value.shape)} (expected '{BANK_PREFIX}.<class id>' of shape (k, {feat_num}))"
            )
        bank[int(key)] = value.float().numpy()
    return bank


def _allowed_globals() -> dict[tuple[str, str], object]:
    """What an np.save'd dict of arrays needs to unpickle; found via the objects so that the module
    names of numpy 1 (``numpy.core``) and 2 (``numpy._core``) are both covered."""
    reconstruct = np.zeros(1).__reduce__()[0]
    scalar = np.float32(0).__reduce__()[0]
    allowed: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = scalar
    # bytes in protocol-2 pickles: neither can run code, they only build a bytes object
    allowed[("_codecs", "encode")] = codecs.encode
    allowed[("__builtin__", "bytes")] = allowed[("builtins", "bytes")] = bytes
    return allowed


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers; any other global is refused, so no code runs."""

    allowed = _allowed_globals()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed") from None


def read_official_features(path: str | Path) -> FeatureBank:
    """The official ``features_clustered_010.npy`` (a pickled dict class -> cluster centres), read
    without executing code from the file: only numpy arrays and plain containers are rebuilt."""
    path = Path(path)
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read the feature file {path} ({exc})") from None
    stream = io.BytesIO(payload)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            _, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            _, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except ValueError as exc:
        raise CheckpointError(f"{path.name} is not a .npy file ({exc})") from None
    if dtype != np.dtype(object):
        raise CheckpointError(f"{path.name} holds a plain {dtype} array, not the dict of cluster centres")
    try:
        # encoding latin1: the official files were written by Python 2, whose array data is a str
        data = _ArrayOnlyUnpickler(stream, encoding="latin1").load()
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refused to load {path.name}: it contains Python objects other than arrays, which could run "
            f"code on this machine ({exc})"
        ) from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"{path.name} is damaged ({exc})") from None
    if isinstance(data, np.ndarray) and data.shape == ():
        data = data.item()
    if not isinstance(data, dict):
        raise CheckpointError(f"{path.name} does not hold a dict of cluster centres per class")
    return _checked_bank(data, path.name)


def _checked_bank(data: Mapping, source: str) -> FeatureBank:
    bank: FeatureBank = {}
    widths = set()
    for key, value in data.items():
        if not isinstance(key, int | np.integer) or isinstance(key, bool) or key < 0:
            raise CheckpointError(f"{source} has the key {key!r}, which is not a class id")
        try:
            centres = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise CheckpointError(f"{source}: the centres of class {key} are not numbers") from None
        if centres.size == 0:
            continue  # a class with no instances large enough to cluster
        if centres.ndim != 2 or not np.isfinite(centres).all():
            raise CheckpointError(
                f"{source}: the centres of class {key} have shape {centres.shape}, not finite (k, feat_num)"
            )
        widths.add(centres.shape[1])
        bank[int(key)] = centres
    if len(widths) > 1:
        raise CheckpointError(f"{source} mixes feature codes of lengths {sorted(widths)}")
    return bank


# --- runtime -----------------------------------------------------------------------------------------------


def _padded_size(size: tuple[int, int], multiple: int) -> tuple[int, int]:
    # at least two multiples: the bottleneck's reflection padding needs two pixels per side
    h, w = (max(2 * multiple, -(-s // multiple) * multiple) for s in size)
    return h, w


def _pad_bottom_right(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    pad = [(0, size[0] - array.shape[0]), (0, size[1] - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pad, mode="edge")


class InstanceSynthesisModel(LabelMapModel):
    """A pix2pixHD model on a device: label map (+ instances, + feature codes) -> photo.

    Like ``SynthesisModel``, the network runs at ``resolution`` (its native short side by default):
    maps are nearest-resized to that scale, edge-padded to the network's multiple and the photo is
    cropped and resized back to the painted size.
    """

    kind = "pix2pixhd"

    def __init__(
        self,
        card: ModelCard,
        label_set: LabelSet,
        generator: GlobalGenerator | LocalEnhancer,
        encoder: FeatureEncoder | None,
        feature_bank: FeatureBank,
        device: torch.device,
        dtype: torch.dtype,
    ):
        self.config: Pix2PixHDConfig = generator.config
        super().__init__(card, label_set, device, dtype)
        self.generator = generator.to(device=device, dtype=dtype).eval()
        self.encoder = None if encoder is None else encoder.to(device=device, dtype=dtype).eval()
        self.feature_bank = feature_bank

    @classmethod
    def from_folder(
        cls, folder: Path, card: ModelCard, device: torch.device, dtype: torch.dtype
    ) -> InstanceSynthesisModel:
        folder = Path(folder)
        if card.label_set is None:
            raise CheckpointError(f"model '{card.name}' has no label set in its card")
        label_set = LabelSet.from_dict(card.label_set)
        config = architecture_from_card(Pix2PixHDConfig, card, folder, "pix2pixHD")
        if label_set.num_channels != config.label_nc:
            raise CheckpointError(
                f"model '{card.name}' has {config.label_nc} label channels, which does not fit its label set "
                f"'{label_set.name}' ({label_set.num_channels} classes)"
            )
        weights = read_weights(folder)
        generator = build_generator(config)
        load_checked(generator, weights.get("G", {}), f"{folder.name}/G")
        encoder = None
        if config.has_encoder:
            encoder = FeatureEncoder(config)
            load_checked(encoder, weights.get("E", {}), f"{folder.name}/E")
        bank = bank_from_tensors(weights.get(BANK_PREFIX, {}), config.feat_num, folder.name)
        return cls(card, label_set, generator, encoder, bank, device, dtype)

    @property
    def native_size(self) -> tuple[int, int]:
        return self.config.native_size

    @property
    def uses_instances(self) -> bool:
        return self.config.use_instance_edges or self.config.feat_num > 0

    @property
    def feat_num(self) -> int:
        return self.config.feat_num

    @property
    def has_feature_encoder(self) -> bool:
        return self.encoder is not None

    def feature_choices(self, class_id: int) -> np.ndarray:
        """The bank's codes for a class, (k, feat_num); (0, feat_num) when it has none."""
        codes = self.feature_bank.get(int(class_id))
        return np.zeros((0, self.feat_num), np.float32) if codes is None else codes.copy()

    def instance_features(
        self,
        instance_ids: Iterable[int],
        features: Mapping[int, np.ndarray] | None = None,
        seed: int | None = None,
    ) -> dict[int, np.ndarray]:
        """The code each instance is painted with: its entry in ``features``, else a bank row of its
        class picked from (seed, instance id) alone (seed None = 0), else zeros."""
        features = features or {}
        seed = 0 if seed is None else int(seed)
        codes = {}
        for instance_id in (int(i) for i in instance_ids):
            if instance_id in features:
                codes[instance_id] = self._checked_code(instance_id, features[instance_id])
                continue
            choices = self.feature_bank.get(instance_class(instance_id))
            if choices is None or not len(choices):
                codes[instance_id] = np.zeros(self.feat_num, np.float32)
            else:
                rng = np.random.default_rng([seed % 2**64, instance_id])
                codes[instance_id] = choices[rng.integers(len(choices))]
        return codes

    def synthesize(
        self,
        labels: np.ndarray,
        instances: np.ndarray | None = None,
        features: Mapping[int, np.ndarray] | None = None,
        seed: int | None = None,
    ) -> np.ndarray:
        """Label ids (H, W) -> photo (H, W, 3) uint8.

        ``instances``: instance ids (class id for stuff, class * 1000 + k for things); without
        it every class region is one instance. ``features``: instance id -> code (feat_num floats);
        other instances get a bank code picked by ``seed`` (see ``instance_features``).
        """
        labels = self.checked_labels(labels)
        instances = self.checked_instances(instances, labels.shape)
        if features and not self.feat_num:
            raise InferenceError(f"the model '{self.card.name}' takes no instance feature codes")
        canvas = labels.shape
        work = self.working_size(canvas)
        padded = _padded_size(work, self.config.size_multiple)
        channels = _pad_bottom_right(resize_ids(self.label_set.to_channels(labels), work), padded)
        inst = _pad_bottom_right(resize_ids(labels if instances is None else instances, work), padded)
        inst = inst.astype(np.int64)
        edges = instance_edges(torch.from_numpy(inst)[None]) if self.config.use_instance_edges else None
        feature_map = self._feature_map(inst, features, seed) if self.feat_num else None
        with torch.inference_mode(), friendly_oom(f"synthesizing at {work[1]}x{work[0]}"):
            x = generator_input(
                self.config,
                torch.from_numpy(channels)[None].to(self.device),
                None if edges is None else edges.to(self.device),
                None if feature_map is None else feature_map.to(self.device),
                self.dtype,
            )
            photo = tensor_to_uint8(self.generator(x))[: work[0], : work[1]]
        return self.to_canvas(photo, canvas)

    def encode_features(self, image: np.ndarray, instances: np.ndarray) -> dict[int, np.ndarray]:
        """Instance id -> the encoder's code for that instance of a photo (RGB uint8, same size as
        ``instances``): the mean of E's output over the instance, as the official pooling computes.
        Instances too small to survive the resize to the working resolution get no code."""
        if self.encoder is None:
            raise InferenceError(
                f"the model '{self.card.name}' has no feature encoder; pick codes from feature_choices()"
            )
        image = np.asarray(image)
        x = image_to_tensor(image)  # validates an RGB uint8 image
        instances = self.checked_instances(instances, image.shape[:2], "photo")
        work = self.working_size(image.shape[:2])
        if work != image.shape[:2]:
            image = np.array(Image.fromarray(image).resize((work[1], work[0]), Image.BICUBIC))
            x = image_to_tensor(image)
        padded = _padded_size(work, self.config.encoder_multiple)
        x = torch.nn.functional.pad(x, (0, padded[1] - work[1], 0, padded[0] - work[0]), mode="replicate")
        inst = torch.from_numpy(resize_ids(instances, work).astype(np.int64))
        with torch.inference_mode(), friendly_oom(f"encoding features at {work[1]}x{work[0]}"):
            raw = self.encoder.encode(x.to(self.device, self.dtype))[0, :, : work[0], : work[1]]
            ids, means, _ = instance_means(raw, inst.to(self.device))
        return {int(i): m for i, m in zip(ids.tolist(), means.cpu().numpy(), strict=True)}

    def warm_up(self) -> None:
        """One small forward pass, so the first user stroke does not pay for lazy initialisation."""
        side = 2 * self.config.size_multiple
        background = int(self.label_set.to_channels(np.array([[self.label_set.background_id]]))[0, 0])
        channels = torch.full((1, side, side), background, device=self.device)
        edges = torch.zeros(1, 1, side, side) if self.config.use_instance_edges else None
        features = torch.zeros(1, self.feat_num, side, side) if self.feat_num else None
        with torch.inference_mode():
            self.generator(
                generator_input(
                    self.config,
                    channels,
                    None if edges is None else edges.to(self.device),
                    None if features is None else features.to(self.device),
                    self.dtype,
                )
            )

    def _checked_code(self, instance_id: int, code: np.ndarray) -> np.ndarray:
        code = np.asarray(code, dtype=np.float32)
        if code.shape != (self.feat_num,) or not np.isfinite(code).all():
            raise InferenceError(
                f"the feature code for instance {instance_id} must be {self.feat_num} finite numbers, "
                f"got shape {code.shape}"
            )
        return code

    def _feature_map(
        self, instances: np.ndarray, features: Mapping[int, np.ndarray] | None, seed: int | None
    ) -> Tensor:
        """(1, feat_num, H, W): each instance's code painted over its pixels."""
        ids, inverse = np.unique(instances, return_inverse=True)
        codes = self.instance_features(ids.tolist(), features, seed)
        table = np.stack([codes[int(i)] for i in ids]).astype(np.float32)
        painted = table[inverse.reshape(instances.shape)]  # (H, W, feat_num)
        return torch.from_numpy(painted).permute(2, 0, 1)[None]


# --- import of the official releases -----------------------------------------------------------------------


def _indices(state: Mapping[str, Tensor], prefix: str, inner: str = "") -> list[int]:
    """Sorted layer indices ``i`` of the keys ``<prefix><i>.<...inner...>``."""
    found = set()
    for key in state:
        index, _, rest = key.removeprefix(prefix).partition(".")
        if key.startswith(prefix) and index.isdigit() and inner in "." + rest:
            found.add(int(index))
    return sorted(found)


def config_from_state_dicts(
    generator: Mapping[str, Tensor],
    label_nc: int,
    encoder: Mapping[str, Tensor] | None = None,
    feat_num: int = 0,
    source: str = "the generator",
) -> Pix2PixHDConfig:
    """The architecture an official pix2pixHD state dict was built with (sizes read off the keys).

    ``feat_num`` is taken from the encoder when given, else from the argument (the feature
    file's code length); the other input channels must be the labels and maybe the edge map.
    """
    stem = generator.get("model.1.weight")
    blocks_global = _indices(generator, "model.", ".conv_block.")
    if stem is None or stem.dim() != 4 or not blocks_global:
        raise CheckpointError(
            f"{source} is not a pix2pixHD generator: it has no 'model.1.weight' or no res blocks"
        )
    n_local = 0
    while f"model{n_local + 1}_1.1.weight" in generator:
        n_local += 1
    head = f"model{n_local}_2." if n_local else "model."  # the Sequential that ends in the RGB conv
    to_rgb = generator[f"{head}{_indices(generator, head)[-1]}.weight"]
    encoder_convs = []
    if encoder is not None:
        encoder_convs = [i for i in _indices(encoder, "model.") if encoder[f"model.{i}.weight"].dim() == 4]
        if not encoder_convs:
            raise CheckpointError("the encoder is not a pix2pixHD feature encoder: it has no conv layers")
        feat_num = encoder[f"model.{encoder_convs[-1]}.weight"].shape[0]
    input_nc = stem.shape[1]
    edges = input_nc - label_nc - feat_num
    if edges not in (0, 1):
        missing = input_nc - label_nc - 1 > 0 and not feat_num
        hint = ": pass its feature encoder or its features_clustered_010.npy" if missing else ""
        raise CheckpointError(
            f"{source} takes {input_nc} input channels, which is not {label_nc} labels (+ edge map) "
            f"+ {feat_num} feature channels{hint}"
        )
    return Pix2PixHDConfig(
        label_nc=label_nc,
        use_instance_edges=bool(edges),
        feat_num=feat_num,
        output_nc=to_rgb.shape[0],
        ngf=stem.shape[0] // 2**n_local,
        n_downsample_global=(blocks_global[0] - 4) // 3,  # stem: 4 layers, each downsampling: 3
        n_blocks_global=len(blocks_global),
        n_local_enhancers=n_local,
        n_blocks_local=len(_indices(generator, head, ".conv_block.")) if n_local else 3,
        nef=encoder["model.1.weight"].shape[0] if encoder is not None else 16,
        n_downsample_E=(len(encoder_convs) - 2) // 2 if encoder is not None else 4,
        has_encoder=encoder is not None,
        native_size=native_size_for(n_local),
    )


def import_official_pix2pixhd(
    generator: str | Path,
    out_dir: str | Path,
    encoder: str | Path | None = None,
    features_npy: str | Path | None = None,
    label_set: str | LabelSet = "cityscapes",
    name: str | None = None,
) -> Path:
    """Convert NVIDIA/pix2pixHD's ``latest_net_G.pth`` (+ ``latest_net_E.pth``, + the
    ``features_clustered_010.npy`` bank) into a model folder the engine loads; returns the folder."""
    files = [Path(p) for p in (generator, encoder, features_npy) if p is not None]
    labels = label_set if isinstance(label_set, LabelSet) else get_label_set(label_set)
    g_state = read_state_dict(generator)
    e_state = None if encoder is None else read_state_dict(encoder)
    bank = {} if features_npy is None else read_official_features(features_npy)
    bank_width = next(iter(bank.values())).shape[1] if bank else 0
    config = config_from_state_dicts(g_state, labels.num_channels, e_state, bank_width, files[0].name)
    if bank:
        bank_file = files[-1].name
        if bank_width != config.feat_num:
            raise CheckpointError(
                f"{bank_file} holds codes of {bank_width} values, but the encoder makes {config.feat_num}"
            )
        foreign = sorted(c for c in bank if c not in labels)
        if foreign:
            raise CheckpointError(
                f"{bank_file} has codes for class {foreign[0]}, which is not in the '{labels.name}' label set"
            )
    net_g = build_generator(config)
    load_checked(net_g, g_state, files[0].name, f"is this pix2pixHD's G for the '{labels.name}' label set?")
    networks: dict[str, torch.nn.Module | dict[str, Tensor]] = {"G": net_g}
    if e_state is not None:
        net_e = FeatureEncoder(config)
        load_checked(net_e, e_state, files[1].name, "is this pix2pixHD's latest_net_E.pth?")
        networks["E"] = net_e
    if bank:
        networks[BANK_PREFIX] = bank_to_tensors(bank)
    variant = f"{config.native_size[0]}p" + ("-feat" if config.feat_num else "")
    card = ModelCard(
        name=name or f"pix2pixhd-{labels.name}-{variant}-official",
        kind="pix2pixhd",
        architecture=config.to_dict(),
        label_set=labels.to_dict(),
        native_size=config.native_size,
        description=f"NVIDIA pix2pixHD {variant} ({labels.title}), imported from the official release",
        source=f"NVIDIA/pix2pixHD ({', '.join(p.name for p in files)})",
        trained_on=labels.title,
        license=LICENSE,
    )
    return save_model(out_dir, card, networks)
