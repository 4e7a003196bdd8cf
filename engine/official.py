"""Conversion of the officially released checkpoints into synthpaint models.

Option values below are those of the official releases (see shared/reference/manifests).
"""

from __future__ import annotations

from pathlib import Path

from engine.checkpoints import ModelCard, load_checked, read_state_dict, save_model
from engine.errors import CheckpointError
from engine.labels import LabelSet, get_label_set
from engine.models.blocks import fold_spectral_norm
from engine.models.spade import SPADEConfig, SPADEGenerator, StyleEncoder

# label set -> architecture of NVlabs/SPADE's {coco,ade20k,cityscapes}_pretrained
SPADE_PRESETS: dict[str, dict] = {
    "coco": dict(label_nc=182, contain_dontcare=True, use_instance_edges=True),
    "ade20k": dict(label_nc=150, contain_dontcare=True, use_instance_edges=False),
    "cityscapes": dict(
        label_nc=35,
        contain_dontcare=False,
        use_instance_edges=True,
        num_upsampling_layers="more",
        crop_size=512,
        aspect_ratio=2.0,
    ),
}

KINDS = ("spade", "pix2pixhd", "pix2pix", "lama", "colorization")


def import_official(
    kind: str,
    generator: str | Path,
    label_set: str | None,
    out_dir: str | Path,
    encoder: str | Path | None = None,
    name: str | None = None,
    features: str | Path | None = None,
) -> Path:
    """Convert an official release into a model folder the engine loads; returns the folder.

    ``generator`` is the release's network file (SPADE/pix2pixHD ``latest_net_G.pth``, pix2pix
    ``latest_net_G.pth``, LaMa ``best.ckpt``, ``siggraph17-*.pth``); ``label_set`` applies to the
    label-map models only; ``encoder`` and ``features`` (``features_clustered_010.npy``) to pix2pixHD.
    """
    out_dir = Path(out_dir)
    if kind == "spade":
        return _import_spade(Path(generator), get_label_set(label_set or "coco"), out_dir, encoder, name)
    if kind == "pix2pixhd":
        from engine.instance_synthesis import import_official_pix2pixhd

        return import_official_pix2pixhd(
            generator, out_dir, encoder, features, label_set or "cityscapes", name=name
        )
    if kind == "pix2pix":
        from engine.sketch import import_official_pix2pix

        return import_official_pix2pix(Path(generator), out_dir, name)
    if kind == "lama":
        from engine.inpainting import import_official_lama

        return import_official_lama(Path(generator), out_dir, name)
    if kind == "colorization":
        from engine.colorization import import_official_colorization

        return import_official_colorization(Path(generator), out_dir, name)
    raise CheckpointError(f"unknown kind of official checkpoint '{kind}' (known: {', '.join(KINDS)})")


def _import_spade(
    generator: Path, label_set: LabelSet, out_dir: Path, encoder: str | Path | None, name: str | None
) -> Path:
    if label_set.name not in SPADE_PRESETS:
        raise CheckpointError(
            f"no official SPADE release uses the label set '{label_set.name}' "
            f"(official ones: {', '.join(SPADE_PRESETS)})"
        )
    g_state = fold_spectral_norm(read_state_dict(generator))
    fc = g_state.get("fc.weight")
    if fc is None:
        raise CheckpointError(f"{generator.name} is not a SPADE generator: it has no 'fc.weight'")
    use_vae = fc.dim() == 2
    ngf = (fc.shape[0] // 16) if not use_vae else g_state["head_0.conv_0.weight"].shape[0] // 16
    config = SPADEConfig(
        **SPADE_PRESETS[label_set.name], ngf=ngf, use_vae=use_vae, has_encoder=encoder is not None
    )
    if use_vae and encoder is None:
        raise CheckpointError(
            f"{generator.name} is a VAE generator (style-encoder variant): pass its encoder with --encoder"
        )
    hint = f"is this a SPADE checkpoint for the '{label_set.name}' label set?"
    net_g = SPADEGenerator(config)
    load_checked(net_g, g_state, generator.name, hint)
    networks = {"G": net_g}
    if encoder is not None:
        net_e = StyleEncoder(config)
        load_checked(net_e, fold_spectral_norm(read_state_dict(encoder)), Path(encoder).name)
        networks["E"] = net_e
    card = ModelCard(
        name=name or f"spade-{label_set.name}-official",
        kind="spade",
        architecture=config.to_dict(),
        label_set=label_set.to_dict(),
        native_size=config.native_size,
        description=f"NVIDIA SPADE ({label_set.title}), imported from the official release",
        source=f"NVlabs/SPADE {label_set.name}_pretrained ({generator.name}), spectral norm folded",
        trained_on=label_set.title,
        license="CC BY-NC-SA 4.0 (NVIDIA Source Code License for SPADE)",
    )
    return save_model(out_dir, card, networks)
