"""How a model expects its input pixels: (pixel - mean) / std, on a 0-1 or 0-255 scale, in RGB or BGR order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from onnx_datagen.config.choices import ChannelOrder
from onnx_datagen.config.parsing import to_enum
from onnx_datagen.errors import ConfigError

NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "keras": ((0.5,), (0.5,)),  # x / 127.5 - 1
    "none": ((0.0,), (1.0,)),
}


@dataclass(frozen=True)
class Normalization:
    """How the model expects its input: (pixel - mean) / std, with pixels in [0, pixel_scale].

    `mean` and `std` are on the pixel scale (0-1 values when pixel_scale is 1, 0-255 values when 255).
    A single value applies to every channel.
    """

    mean: tuple[float, ...] = NORMALIZATIONS["imagenet"][0]
    std: tuple[float, ...] = NORMALIZATIONS["imagenet"][1]
    pixel_scale: float = 1.0
    name: str = "imagenet"
    channel_order: ChannelOrder = ChannelOrder.RGB  # mean/std are given in this order too

    @classmethod
    def preset(
        cls, name: str, pixel_scale: float = 1.0, channel_order: ChannelOrder = ChannelOrder.RGB
    ) -> Normalization:
        if name not in NORMALIZATIONS:
            raise ConfigError(
                f"unknown normalization {name!r}; choose one of {', '.join(NORMALIZATIONS)} or give --mean/--std"
            )
        mean, std = NORMALIZATIONS[name]
        if channel_order is ChannelOrder.BGR:  # the preset's values are RGB: give them in the model's order
            mean, std = mean[::-1], std[::-1]
        scaled = tuple(m * pixel_scale for m in mean), tuple(s * pixel_scale for s in std)
        return cls(*scaled, pixel_scale, name, channel_order)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        object.__setattr__(self, "channel_order", to_enum(ChannelOrder, self.channel_order, "channel_order"))
        if not self.mean or not self.std:
            raise ConfigError("normalization mean and std need at least one value each")
        if any(s <= 0 for s in self.std):
            raise ConfigError(f"normalization std must be > 0, got {self.std}")
        if self.pixel_scale not in (1.0, 255.0):
            raise ConfigError(f"pixel scale must be 1 or 255, got {self.pixel_scale}")

    def per_channel(self, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Mean and std broadcast to `channels` values."""
        if self.channel_order is ChannelOrder.BGR and channels != 3:
            raise ConfigError(f"--channel-order bgr needs a 3-channel input, but the model's has {channels}")
        out = []
        for values, what in ((self.mean, "mean"), (self.std, "std")):
            if len(values) == 1:
                values = values * channels
            if len(values) != channels:
                raise ConfigError(
                    f"normalization {what} has {len(values)} values but the model input has {channels} channels; "
                    f"give --mean/--std with {channels} values"
                )
            out.append(values)
        return out[0], out[1]


def normalization_from_dict(data: dict[str, Any]) -> Normalization:
    """A Normalization from its config/manifest form: a preset name, or mean and std (with pixel_scale)."""
    scale = float(data.get("pixel_scale", 1.0))
    order = to_enum(ChannelOrder, data.get("channel_order", "rgb"), "channel_order")
    if "mean" in data or "std" in data:
        if "mean" not in data or "std" not in data:
            raise ConfigError("normalization needs both mean and std")
        return Normalization(tuple(data["mean"]), tuple(data["std"]), scale, str(data.get("name", "custom")), order)
    return Normalization.preset(str(data.get("name", "imagenet")), scale, order)
