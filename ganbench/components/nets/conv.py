"""DCGAN-style convolutional generator and discriminator with a leading seed axis.

**Seed axis (docs/architecture.md, seed axis).** Batches are flattened images ``[S, B, C·H·W]`` (channel-major; the
pixel convention of :mod:`ganbench.components.data.images`), exactly like the toy networks, so the trainer,
packing, penalties, instance noise and unrolling treat images like any other vector.
Parameters carry the seed axis: a conv weight is ``[S, C_out, C_in, k, k]``. Inside, the S
seeds are the groups of one grouped convolution: activations are ``[B, S·C, H, W]`` and each
layer is one ``F.conv2d`` / ``F.conv_transpose2d`` call with ``groups=S``, so no operation
mixes seeds. Each seed's slice is initialised from its own generator
(``stream_seed(seed, "g_init" | "d_init")``), so seed ``s`` of an S-seed network equals a 1-seed
network with seed ``s``.

**Shapes.** For a square image of side ``H``, the network works at ``r₀ = H / 2ⁿ`` with ``n``
the number of times ``H`` halves while it stays even and above 7 (8 → 4, 16 → 4, 28 → 7,
32 → 4, 64 → 4). The generator maps ``z`` by a linear layer to ``c₀ × r₀ × r₀`` and doubles
the resolution ``n`` times with 4×4 stride-2 transposed convolutions, halving the channels
(``width_g·2ⁿ⁻¹ … width_g``), batch norm and ReLU after each hidden layer, ``tanh`` at the end
(Radford et al. 2016). The discriminator mirrors it with 4×4 stride-2 convolutions (channels
``width_d … width_d·2ⁿ⁻¹``), LeakyReLU(0.2), no normalisation (so gradient penalties and
minibatch features stay per-sample), and a linear head on the flattened features.
``width_d < width_g`` gives the "D smaller than G" setting in which collapse shows.

**Batch norm** in G uses batch statistics in training and evaluation alike (no running
averages: ``track_running_stats=False``), so generating samples never changes any state.

**Initialisation** (DCGAN): weights ``N(0, 0.02)``, batch-norm scales ``N(1, 0.02)``, biases and
shifts 0. Layers followed by batch norm have no bias (it would cancel; under Adam its
float-noise gradient would only make it drift).

**Remedy hooks**, as on :class:`~ganbench.components.nets.mlp.SeededMLP`: ``weight_transform(i, w)``
(spectral norm; :meth:`sn_view` gives the ``[S, fan_in, fan_out]`` matrix view of weight
``i``), ``pre_head`` on D's flattened features ``[S, B, A]`` (minibatch discrimination) and
``in_multiplier`` (PacGAN: k samples stacked along channels, as in Lin et al. 2018).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganbench.components.nets.mlp import stream_seed

if TYPE_CHECKING:  # pragma: no cover
    from ganbench.config.suite import Model

Tensor = torch.Tensor
INIT_STD = 0.02
BN_EPS = 1e-5


def conv_plan(size: int) -> tuple[int, int]:
    """``(r₀, n)``: the base resolution and the number of ×2 stages for a side of ``size`` px."""
    r, n = int(size), 0
    while r % 2 == 0 and r > 7:
        r //= 2
        n += 1
    if n == 0:
        raise ValueError(f"conv nets need an even image side of at least 8 px, not {size}")
    return r, n


def _seeded_normal(shape: Sequence[int], gens: list[torch.Generator], mean: float, std: float) -> Tensor:
    out = torch.empty(len(gens), *shape)
    for i, g in enumerate(gens):
        out[i].normal_(mean, std, generator=g)
    return out


def to_channels(x: Tensor, c: int, h: int, w: int) -> Tensor:
    """``[S, B, c·h·w]`` → ``[B, S·c, h, w]`` (seed-major channel groups)."""
    s, b = x.shape[:2]
    return x.reshape(s, b, c, h, w).transpose(0, 1).reshape(b, s * c, h, w)


def from_channels(x: Tensor, s: int) -> Tensor:
    """``[B, S·c, h, w]`` → ``[S, B, c·h·w]``."""
    b = x.shape[0]
    return x.reshape(b, s, -1).transpose(0, 1).contiguous()


class _SeededConvNet(nn.Module):
    """Shared plumbing: parameter lists with a seed axis and the remedy hooks."""

    def __init__(self, seeds: Sequence[int], stream: str):
        super().__init__()
        self.S = len(seeds)
        self.gens = [torch.Generator().manual_seed(stream_seed(s, stream)) for s in seeds]
        self.weights = nn.ParameterList()
        #: biases by layer name; layers followed by batch norm have none (it would cancel)
        self.biases = nn.ParameterDict()
        self.weight_transform: Callable[[int, Tensor], Tensor] | None = None
        self.names: list[str] = []

    def _add(self, name: str, w_shape: Sequence[int], b_shape: Sequence[int] | None) -> None:
        self.weights.append(nn.Parameter(_seeded_normal(w_shape, self.gens, 0.0, INIT_STD)))
        if b_shape is not None:
            self.biases[name] = nn.Parameter(torch.zeros(self.S, *b_shape))
        self.names.append(name)

    def bias(self, i: int) -> Tensor | None:
        name = self.names[i]
        return self.biases[name] if name in self.biases else None

    def _params_of(self, i: int) -> list[nn.Parameter]:
        b = self.bias(i)
        return [self.weights[i]] + ([b] if b is not None else [])

    def weight(self, i: int) -> Tensor:
        w = self.weights[i]
        return w if self.weight_transform is None else self.weight_transform(i, w)

    @property
    def layer_names(self) -> list[str]:
        return list(self.names)

    def sn_view(self, i: int, w: Tensor) -> Tensor:  # pragma: no cover - overridden
        raise NotImplementedError


class SeededConvGenerator(_SeededConvNet):
    """``z [S, B, z_dim]`` → images ``[S, B, C·H·W]`` in ``[-1, 1]``.

    Args:
        z_dim: latent size.
        shape: ``(C, H, W)`` with ``H == W``.
        width: channels of the last hidden layer (doubling towards the input).
        seeds: the user seeds, one per slice of the seed axis.
        activation: hidden activation (DCGAN: ReLU).
        batchnorm: batch norm after every hidden layer.
    """

    def __init__(self, z_dim: int, shape: Sequence[int], width: int, seeds: Sequence[int],
                 activation: Callable[[Tensor], Tensor], batchnorm: bool = True, stream: str = "g_init"):
        super().__init__(seeds, stream)
        c, h, w = (int(v) for v in shape)
        if h != w:
            raise ValueError(f"conv nets need square images, not {h}×{w}")
        self.shape = (c, h, w)
        self.r0, self.n = conv_plan(h)
        self.chans = [width * 2 ** (self.n - 1 - i) for i in range(self.n)] + [c]
        self.activation = activation
        self.batchnorm = batchnorm
        self._add("fc", (z_dim, self.chans[0] * self.r0 ** 2),
                  None if batchnorm else (1, self.chans[0] * self.r0 ** 2))
        for i in range(self.n):
            last = i == self.n - 1
            self._add("out" if last else f"up{i + 1}", (self.chans[i], self.chans[i + 1], 4, 4),
                      (self.chans[i + 1],) if last or not batchnorm else None)
        self.bn_scale = nn.ParameterList()
        self.bn_shift = nn.ParameterList()
        if batchnorm:
            for i in range(self.n):
                self.bn_scale.append(nn.Parameter(_seeded_normal((self.chans[i],), self.gens, 1.0, INIT_STD)))
                self.bn_shift.append(nn.Parameter(torch.zeros(self.S, self.chans[i])))
        del self.gens

    def layer_params(self) -> list[tuple[str, list[nn.Parameter]]]:
        """(layer name, its parameters) pairs for per-layer probes; batch-norm parameters go with
        the layer they normalise."""
        out = []
        for i, name in enumerate(self.names):
            params = self._params_of(i)
            if self.batchnorm and i < self.n:
                params += [self.bn_scale[i], self.bn_shift[i]]
            out.append((name, params))
        return out

    def sn_view(self, i: int, w: Tensor) -> Tensor:
        if i == 0:
            return w
        s, cin, cout = w.shape[:3]
        return w.transpose(1, 2).reshape(s, cout, -1).transpose(1, 2)

    def _norm_act(self, h: Tensor, i: int) -> Tensor:
        if self.batchnorm:
            h = F.batch_norm(h, None, None, self.bn_scale[i].reshape(-1), self.bn_shift[i].reshape(-1),
                             training=True, eps=BN_EPS)
        return self.activation(h)

    def forward(self, z: Tensor) -> Tensor:
        s = z.shape[0]
        b0 = self.bias(0)
        h = torch.bmm(z, self.weight(0)) if b0 is None else torch.baddbmm(b0, z, self.weight(0))
        h = to_channels(h, self.chans[0], self.r0, self.r0)
        h = self._norm_act(h, 0)
        for i in range(self.n):
            w = self.weight(i + 1)
            b = self.bias(i + 1)
            h = F.conv_transpose2d(h, w.reshape(s * self.chans[i], self.chans[i + 1], 4, 4),
                                   None if b is None else b.reshape(-1), stride=2, padding=1, groups=s)
            h = self._norm_act(h, i + 1) if i < self.n - 1 else torch.tanh(h)
        return from_channels(h, s)


class SeededConvDiscriminator(_SeededConvNet):
    """Images ``[S, B, k·C·H·W]`` → logits ``[S, B, 1]``.

    Args:
        shape: ``(C, H, W)`` of one sample.
        width: channels of the first layer (doubling with depth).
        seeds: the user seeds.
        activation: hidden activation (DCGAN: LeakyReLU 0.2).
        in_multiplier: samples stacked along channels per input (PacGAN k).
        head_extra: extra features a ``pre_head`` module appends before the head.
    """

    def __init__(self, shape: Sequence[int], width: int, seeds: Sequence[int],
                 activation: Callable[[Tensor], Tensor], in_multiplier: int = 1, head_extra: int = 0,
                 stream: str = "d_init"):
        super().__init__(seeds, stream)
        c, h, w = (int(v) for v in shape)
        if h != w:
            raise ValueError(f"conv nets need square images, not {h}×{w}")
        self.shape = (c * in_multiplier, h, w)
        self.r0, self.n = conv_plan(h)
        self.chans = [c * in_multiplier] + [width * 2 ** i for i in range(self.n)]
        self.activation = activation
        for i in range(self.n):
            self._add(f"conv{i}", (self.chans[i + 1], self.chans[i], 4, 4), (self.chans[i + 1],))
        #: flattened feature size A seen by the head (before any ``pre_head`` features)
        self.feature_dim = self.chans[-1] * self.r0 ** 2
        self._add("out", (self.feature_dim + head_extra, 1), (1, 1))
        del self.gens
        #: optional module mapping features ``[S, B, A]`` to ``[S, B, A + head_extra]``
        self.pre_head: nn.Module | None = None

    def layer_params(self) -> list[tuple[str, list[nn.Parameter]]]:
        out = [(n, self._params_of(i)) for i, n in enumerate(self.names)]
        if self.pre_head is not None:
            extra = list(self.pre_head.parameters())
            if extra:
                out.insert(len(out) - 1, ("features", extra))
        return out

    def sn_view(self, i: int, w: Tensor) -> Tensor:
        if i == self.n:
            return w
        s, cout = w.shape[:2]
        return w.reshape(s, cout, -1).transpose(1, 2)

    def forward(self, x: Tensor) -> Tensor:
        s = x.shape[0]
        c, h, w = self.shape
        h_ = to_channels(x, c, h, w)
        for i in range(self.n):
            wt = self.weight(i)
            h_ = self.activation(F.conv2d(h_, wt.reshape(s * self.chans[i + 1], self.chans[i], 4, 4),
                                          self.bias(i).reshape(-1), stride=2, padding=1, groups=s))
        f = h_.reshape(h_.shape[0], s, -1).transpose(0, 1)
        if self.pre_head is not None:
            f = self.pre_head(f)
        return torch.baddbmm(self.bias(self.n), f, self.weight(self.n))


def build_conv(model: Model, dataset: Any, seeds: list[int], build: Any) -> tuple[nn.Module, nn.Module, int]:
    """G and D for an image dataset from the trial's :class:`ganbench.config.suite.Model`.

    Activations: ``generator.activation`` / ``discriminator.activation`` when set, else
    ``conv.activation_g`` / ``conv.activation_d`` (DCGAN: relu / leaky_relu). ``model.activation``
    is the MLP's hidden activation and does not apply here.
    """
    from ganbench.components.nets.activations import ACTIVATIONS

    conv = model.conv
    act_g = ACTIVATIONS.get(model.generator.activation or conv.activation_g)
    act_d = ACTIVATIONS.get(model.discriminator.activation or conv.activation_d)
    z_dim = model.generator.z_dim
    G = SeededConvGenerator(z_dim, dataset.shape, conv.width_g, seeds, act_g, batchnorm=conv.batchnorm_g)
    D = SeededConvDiscriminator(dataset.shape, conv.width_d, seeds, act_d,
                                in_multiplier=build.d_input_multiplier, head_extra=build.d_head_extra)
    return G, D, z_dim
