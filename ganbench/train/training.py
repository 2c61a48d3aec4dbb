"""The training loop for one trial: all seeds of one dataset × combo in lockstep.

Lean by design (toy networks are overhead-bound): noise and data are drawn into
preallocated buffers from one random stream per seed on the trial's device (the noise shared
among the trial's threads, :mod:`ganbench.components.noise`), gradients are taken with ``torch.autograd.grad`` for exactly the
parameters being updated, the generator runs forward once per step (the last critic step's
fake batch is reused for the G step, as in the PyTorch DCGAN tutorial), a per-sample MLP
critic sees the real and the fake batch in one pass, a one-hidden-layer ReLU critic runs as
one fused kernel where the optional accelerator is compiled (:mod:`ganbench.components.accel`)
unless a remedy needs its second derivatives, the optimisers are torch's fused kernels,
and probes read the device only every ``log_every`` steps (``make bench`` measures each).

Probes (every ``log_every`` steps and at every evaluation) record per seed: D and G loss,
the L2 norm of ∂L_G/∂θ_G and ∂L_D/∂θ_D in total and per layer (the gradients of the
update just taken), and D's mean output on the real and fake batch of the last D step
(a probability where the loss has a sigmoid, else the raw critic value). Evaluations
(every ``eval_every`` steps and at the end) draw ``eval_samples`` samples per seed from a
separate random stream, so evaluating never changes training.

What differs between kinds of trial lives in one :class:`Task` chosen once per trial
(:func:`make_task`): :class:`SampleTask` for datasets that are sampled (toy mixtures, images)
and :class:`DiracTask` for the Dirac-GAN. The :class:`Trainer` and :func:`train_trial` call
the task and never ask which kind of trial they run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np
import torch

from ganbench.components.data.toy import DATASETS, ToyDataset
from ganbench.components.nets.mlp import SeededMLP, stream_seed
from ganbench.components.noise import NoiseStream
from ganbench.components.objectives import LOSSES
from ganbench.config.suite import Budget, Optimizer, TrialSpec

from ganbench.train.evaluation import REAL_REFERENCE_SEED  # noqa: E402,F401  (recorded in the manifest)
#: Default Dirac-GAN step size h (Mescheder et al. 2018).
DIRAC_DEFAULT_H = 0.2


from ganbench.components.remedies.base import Remedy as _BASE  # noqa: E402


@dataclass
class TrialResult:
    """What one trial produced: per-seed final rows, the history and final samples."""

    rows: list[dict[str, Any]]
    history: list[dict[str, Any]]
    samples: dict[int, np.ndarray]
    wall_s: float
    device: str
    #: the samples at evaluations (:func:`snapshot_steps`), as written to the run folder's
    #: ``evolution/<trial>.npz``: ``steps`` int64 ``[T]`` and per seed ``seed<k>`` float16
    #: ``[T, n, dim]``; empty where the evaluator keeps no snapshots (Dirac, images)
    evolution: dict[str, np.ndarray] = field(default_factory=dict)


def resolve_device(spec: TrialSpec) -> torch.device:
    """``auto`` picks CUDA when the trial was given a GPU and one is visible, else CPU."""
    if spec.device == "cuda" or (spec.device == "auto" and spec.gpus > 0 and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def build_dataset(spec: TrialSpec) -> ToyDataset:
    """Instantiate the trial's dataset from its validated parameters."""
    return DATASETS.get(spec.dataset)(spec.dataset_params)


def make_optimizer(name: str, params: list[torch.nn.Parameter], lr: float, betas: tuple[float, float],
                   momentum: float) -> torch.optim.Optimizer:
    """Adam / SGD / RMSprop in their fastest exact form.

    Adam and SGD use the fused kernels (one pass over each parameter). ``make bench`` times
    Adam's three CPU forms on the Metz-size ring parameters at S = 8 (401 432 numbers): fused
    about 150 µs per G+D step, ``foreach`` about 410 µs, the single-tensor loop (PyTorch's CPU
    default) about 470 µs (BENCHMARKS.md). RMSprop has no fused kernel and uses ``foreach``.
    """
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=True)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, fused=True)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, foreach=True)
    raise ValueError(f"unknown optimizer {name!r}")



class Task:
    """The operations of one kind of trial that the training loop delegates.

    A task is chosen once per trial by :func:`make_task` from the dataset's ``kind``; its
    methods are called with the :class:`Trainer` where they need its state. The networks and
    the evaluator come from the registries keyed by that kind (``NET_BUILDERS``,
    ``EVALUATORS``); everything else a subclass defines.
    """

    #: exposed as ``Trainer.is_dirac`` and ``Build.is_dirac`` for remedies that read it
    is_dirac: ClassVar[bool] = False
    #: probes copied into each trial row as ``<name>_final``
    FINAL_PROBES: ClassVar[tuple[str, ...]] = ("d_loss", "g_loss", "g_grad_norm", "d_grad_norm",
                                               "d_real", "d_fake")

    def __init__(self, dataset: ToyDataset):
        self.dataset = dataset

    def optimizer(self, opt: Optimizer) -> tuple[str, float, float]:
        """The optimiser ``(name, lr, momentum)`` both networks use (before remedies edit the
        learning rates)."""
        raise NotImplementedError

    def log_every(self, budget: Budget) -> int:
        """Probe every this many steps (when probes are on)."""
        raise NotImplementedError

    def build_nets(self, spec: TrialSpec, seeds: list[int], build: Any) -> tuple[torch.nn.Module,
                                                                                 torch.nn.Module, int]:
        """``(G, D, z_dim)`` from the network builder registered for the dataset's kind."""
        from ganbench.components.nets.build import NET_BUILDERS

        return NET_BUILDERS.get(self.dataset.kind)(spec.model, self.dataset, seeds, build)

    def evaluator(self, trainer: "Trainer") -> Any:
        """The evaluator registered for the dataset's kind, bound to ``trainer``."""
        from ganbench.train.evaluation import EVALUATORS

        return EVALUATORS.get(self.dataset.kind)(trainer)

    def draw_noise(self, trainer: "Trainer") -> torch.Tensor:
        """The ``[S, batch, z_dim]`` noise batch of the next G forward pass."""
        raise NotImplementedError

    def draw_real(self, trainer: "Trainer") -> torch.Tensor:
        """The ``[S, batch, dim]`` real batch of the next D step (``trainer.real``)."""
        raise NotImplementedError

    def probe_tensors(self, trainer: "Trainer") -> list[tuple[str, torch.Tensor]]:
        """Extra ``[S]`` probe values, read in the same device→host copy as the others."""
        return []

    def derive_probes(self, probes: dict[str, np.ndarray]) -> None:
        """Add probes computed on the host from the others (in place)."""

    def final_samples(self, seeds: list[int],
                      last_probe: dict[int, dict[str, float]]) -> dict[int, np.ndarray]:
        """Final samples per seed that replace the evaluator's, from each seed's last probe
        taken while it was alive (absent when it had none)."""
        return {}


class SampleTask(Task):
    """Datasets that are sampled: fresh noise and a fresh real batch from every seed's own
    stream at every D step, the suite's optimiser, probes every ``log_every`` steps."""

    def optimizer(self, opt: Optimizer) -> tuple[str, float, float]:
        return opt.name, opt.lr, opt.momentum

    def log_every(self, budget: Budget) -> int:
        return budget.log_every

    def draw_noise(self, trainer: "Trainer") -> torch.Tensor:
        return trainer.noise.next()

    def draw_real(self, trainer: "Trainer") -> torch.Tensor:
        self.dataset.sample_seeds_into(trainer.real, trainer.data_gens)
        return trainer.real


class DiracTask(Task):
    """The Dirac-GAN (Mescheder et al. 2018): the data is δ₀ (``trainer.real`` stays zero), G
    ignores its input (the noise buffer is never redrawn), plain SGD of step size h, and θ, ψ
    and their distance to the equilibrium are probed at every step and kept in the trial row;
    each seed's final "sample" is its last θ, as a ``[1, 1]`` array."""

    is_dirac = True
    FINAL_PROBES = Task.FINAL_PROBES + ("theta", "psi", "dist")

    def optimizer(self, opt: Optimizer) -> tuple[str, float, float]:
        """SGD without momentum at h: the dataset's ``h``, else the suite's lr when its
        optimiser is SGD, else :data:`DIRAC_DEFAULT_H`."""
        h = self.dataset.params.h
        if h is None:
            h = opt.lr if opt.name == "sgd" else DIRAC_DEFAULT_H
        return "sgd", float(h), 0.0

    def log_every(self, budget: Budget) -> int:
        return 1

    def draw_noise(self, trainer: "Trainer") -> torch.Tensor:
        return trainer.z

    def draw_real(self, trainer: "Trainer") -> torch.Tensor:
        return trainer.real

    def probe_tensors(self, trainer: "Trainer") -> list[tuple[str, torch.Tensor]]:
        return [("theta", trainer.G.theta.detach().reshape(trainer.S)),
                ("psi", trainer.D.psi.detach().reshape(trainer.S))]

    def derive_probes(self, probes: dict[str, np.ndarray]) -> None:
        probes["dist"] = np.sqrt(probes["theta"] ** 2 + probes["psi"] ** 2)

    def final_samples(self, seeds: list[int],
                      last_probe: dict[int, dict[str, float]]) -> dict[int, np.ndarray]:
        return {seed: np.array([[last_probe.get(seed, {}).get("theta", np.nan)]], dtype=np.float32)
                for seed in seeds}


#: task classes by dataset kind; any other kind is a :class:`SampleTask`
TASKS: dict[str, type[Task]] = {"dirac": DiracTask}


def make_task(dataset: ToyDataset) -> Task:
    """The task of a trial on ``dataset``."""
    return TASKS.get(dataset.kind, SampleTask)(dataset)


class Trainer:
    """Holds the networks, optimisers, buffers and random streams of one trial."""

    def __init__(self, spec: TrialSpec, device: torch.device | None = None):
        self.spec = spec
        self.device = device or resolve_device(spec)
        self.dataset = build_dataset(spec)
        self.objective = LOSSES.get(spec.loss)
        self.seeds = list(spec.seeds)
        S = len(self.seeds)
        self.S = S
        self.task = make_task(self.dataset)
        #: read by remedies (``Build.is_dirac``, the unrolled remedy's batches)
        self.is_dirac = self.task.is_dirac
        opt = spec.optimizer
        self.batch = opt.batch_size
        dim = self.dataset.dim
        from ganbench.components.remedies import REMEDIES
        from ganbench.components.remedies.base import Build

        self.remedies = [REMEDIES.get(name)(params) for name, params in spec.remedies.items()]
        betas = (float(opt.betas[0]), float(opt.betas[1]))
        self.opt_name, lr, self.momentum = self.task.optimizer(opt)
        build = Build(lr_d=lr, lr_g=lr, betas_d=betas, betas_g=betas, is_dirac=self.is_dirac)
        for r in self.remedies:
            r.configure(build)
        self.build = build
        self.G, self.D, self.z_dim = self.task.build_nets(spec, self.seeds, build)
        self.lr_d, self.lr_g = build.lr_d, build.lr_g
        self.real_target = build.real_target
        self.G.to(self.device)
        self.D.to(self.device)
        dev = self.device
        self.data_gens = [torch.Generator(device=dev).manual_seed(stream_seed(s, "data")) for s in self.seeds]
        for r in self.remedies:  # may add parameters / wrap layers before optimisers exist
            r.attach(self)
        self.G.to(self.device)
        self.D.to(self.device)
        self.g_params = list(self.G.parameters())
        self.d_params = list(self.D.parameters())
        self.opt_g = make_optimizer(self.opt_name, self.g_params, build.lr_g, build.betas_g, self.momentum)
        self.opt_d = make_optimizer(self.opt_name, self.d_params, build.lr_d, build.betas_d, self.momentum)
        self.noise = NoiseStream([stream_seed(s, "noise") for s in self.seeds], self.batch, self.z_dim, dev)
        self.z = self.noise.current
        self.real = torch.zeros(S, self.batch, dim, device=dev)
        self.input_hooks = sorted([r for r in self.remedies if type(r).d_input is not _BASE.d_input],
                                  key=lambda r: r.input_order)
        self.penalty_hooks = [r for r in self.remedies if type(r).d_penalty is not _BASE.d_penalty]
        self.after_d_hooks = [r for r in self.remedies if type(r).after_d_step is not _BASE.after_d_step]
        self.step_hooks = [r for r in self.remedies if type(r).begin_step is not _BASE.begin_step]
        self.g_loss_hooks = [r for r in self.remedies if type(r).g_loss is not _BASE.g_loss]
        # D sees the real and the fake batch in one forward pass (half the small ops and
        # Python calls of the D step) when that cannot change what it computes: a per-sample
        # MLP with no batch features (minibatch discrimination) and no per-forward weight
        # transform (spectral norm's power iteration runs once per forward call)
        self._joint_d = (isinstance(self.D, SeededMLP) and self.D.pre_head is None
                         and self.D.weight_transform is None)
        # a one-hidden-layer ReLU critic runs as one fused kernel (ganbench.components.accel.critic)
        # unless a remedy differentiates through D's gradients (penalties, unrolling)
        self.fused_critic = (isinstance(self.D, SeededMLP)
                             and not any(r.second_order_d() for r in self.remedies)
                             and self.D.use_fused_critic())
        self.step_count = 0
        self.total_steps = spec.budget.steps
        self.alive = np.ones(S, dtype=bool)
        self.diverged_step = np.full(S, np.nan)
        self._last: dict[str, torch.Tensor] = {}

    # ---------------------------------------------------------------- random streams
    def draw_noise(self) -> torch.Tensor:
        """The next ``[S, batch, z_dim]`` noise batch (see :class:`ganbench.components.noise.NoiseStream`:
        each seed from its own generator on the trial's device), as the
        task draws it."""
        self.z = self.task.draw_noise(self)
        return self.z

    def draw_real(self) -> torch.Tensor:
        """The next ``[S, batch, dim]`` real batch (one data stream per seed), as the task
        draws it."""
        return self.task.draw_real(self)

    # ---------------------------------------------------------------- one step
    def d_logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's logits ``[S, B']`` for an already transformed input batch."""
        return self.D(x).squeeze(-1)

    def d_input(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the remedies' input transforms (instance noise, packing) to a batch."""
        for r in self.input_hooks:
            x = r.d_input(self, x)
        return x

    def d_objective(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """D's per-seed loss (with penalties) and its logits on real and fake."""
        real_in, fake_in = self.d_input(real), self.d_input(fake)
        if self._joint_d:
            logits = self.d_logits(torch.cat([real_in, fake_in], 1))
            d_real, d_fake = logits[:, :real_in.shape[1]], logits[:, real_in.shape[1]:]
        else:
            d_real, d_fake = self.d_logits(real_in), self.d_logits(fake_in)
        d_loss = self.objective.d_loss(d_real, d_fake, self.real_target)
        for r in self.penalty_hooks:
            pen = r.d_penalty(self, real_in, fake_in)
            if pen is not None:
                d_loss = d_loss + pen
        return d_loss, d_real, d_fake

    def g_objective(self, fake: torch.Tensor) -> torch.Tensor:
        """G's per-seed loss for a generated batch that carries G's graph."""
        for r in self.g_loss_hooks:
            out = r.g_loss(self, fake)
            if out is not None:
                return out
        return self.objective.g_loss(self.d_logits(self.d_input(fake)))

    def _apply(self, params: list[torch.nn.Parameter], grads: tuple[torch.Tensor, ...],
               opt: torch.optim.Optimizer) -> None:
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()

    def _d_update(self, grads: tuple[torch.Tensor, ...]) -> None:
        self._apply(self.d_params, grads, self.opt_d)
        for r in self.after_d_hooks:
            r.after_d_step(self)

    def step(self) -> None:
        """One G update, preceded by ``n_critic`` D updates (alternating) or taken at the same
        point as one D update (simultaneous)."""
        self.step_count += 1
        for r in self.step_hooks:
            r.begin_step(self, self.step_count)
        if self.spec.update == "simultaneous":
            z, real = self.draw_noise(), self.draw_real()
            fake = self.G(z)
            real_in, fake_in = self.d_input(real), self.d_input(fake)
            d_real, d_fake = self.d_logits(real_in), self.d_logits(fake_in)
            d_loss = self.objective.d_loss(d_real, d_fake, self.real_target)
            for r in self.penalty_hooks:
                pen = r.d_penalty(self, real_in, fake_in.detach())
                if pen is not None:
                    d_loss = d_loss + pen
            if self.g_loss_hooks:
                g_loss = self.g_objective(fake)
            else:
                g_loss = self.objective.g_loss(d_fake)
            gd = torch.autograd.grad(d_loss.sum(), self.d_params, retain_graph=True)
            gg = torch.autograd.grad(g_loss.sum(), self.g_params)
            self._d_update(gd)
            self._apply(self.g_params, gg, self.opt_g)
        else:
            n_critic = self.spec.n_critic
            fake = None
            for c in range(n_critic):
                z, real = self.draw_noise(), self.draw_real()
                if c == n_critic - 1:
                    fake = self.G(z)
                    fake_d = fake.detach()
                else:
                    with torch.no_grad():
                        fake_d = self.G(z)
                d_loss, d_real, d_fake = self.d_objective(real, fake_d)
                gd = torch.autograd.grad(d_loss.sum(), self.d_params)
                self._d_update(gd)
            g_loss = self.g_objective(fake)
            gg = torch.autograd.grad(g_loss.sum(), self.g_params)
            self._apply(self.g_params, gg, self.opt_g)
        self._last = {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}

    # ---------------------------------------------------------------- probes
    def probe(self) -> dict[str, np.ndarray]:
        """Per-seed probe values of the last step (one device→host copy)."""
        last = self._last
        names: list[str] = ["d_loss", "g_loss"]
        vals: list[torch.Tensor] = [last["d_loss"].detach(), last["g_loss"].detach()]
        with torch.no_grad():
            for prefix, net in (("g", self.G), ("d", self.D)):
                total = None
                for lname, params in net.layer_params():
                    sq = sum(p.grad.reshape(self.S, -1).square().sum(1) for p in params)
                    names.append(f"{prefix}_grad_norm.{lname}")
                    vals.append(sq.sqrt())
                    total = sq if total is None else total + sq
                names.append(f"{prefix}_grad_norm")
                vals.append(total.sqrt())
            for key in ("d_real", "d_fake"):
                x = last[key].detach()
                x = torch.sigmoid(x) if self.objective.probability else x
                names.append(key)
                vals.append(x.reshape(self.S, -1).mean(1))
            finite = torch.stack([torch.isfinite(p.detach().reshape(self.S, -1)).all(1) for p in
                                  self.g_params + self.d_params]).all(0)
            names.append("_params_finite")
            vals.append(finite.to(vals[0].dtype))
            for name, val in self.task.probe_tensors(self):
                names.append(name)
                vals.append(val)
        arr = torch.stack(vals).cpu().numpy().astype(np.float64)
        out = dict(zip(names, arr))
        self.task.derive_probes(out)
        return out

    def generate(self, n: int, step: int) -> np.ndarray:
        """``[S, n, dim]`` samples from each seed's G on the evaluation stream of ``step``."""
        with torch.no_grad():
            z = torch.empty(self.S, n, self.z_dim, device=self.device)
            for s, seed in enumerate(self.seeds):
                g = torch.Generator(device=self.device).manual_seed(stream_seed(seed, "eval", step))
                torch.randn(n, self.z_dim, generator=g, out=z[s])
            return self.G(z).float().cpu().numpy()


def _use_threads(cpus: float) -> None:
    """Set torch's intra-op thread count to the trial's CPU share (at least one)."""
    threads = max(1, int(round(cpus)))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@dataclass
class _Record:
    """What a trial has recorded so far.

    Attributes:
        history: the history rows, in the order they were taken.
        last_probe: per seed, its probes at the last probed step at which it was alive.
        last_eval: per seed index, its metrics at the last evaluation at which it was alive.
        samples: per seed, the samples of the last evaluation that returned any.
        snapshots: ``(step, {seed: float16 [n, dim]})`` at the evaluations kept for the
            evolution file (:func:`snapshot_steps`).
        steps_done: steps taken so far.
    """

    history: list[dict[str, Any]]
    last_probe: dict[int, dict[str, float]]
    last_eval: list[dict[str, Any]]
    samples: dict[int, np.ndarray]
    snapshots: list[tuple[int, dict[int, np.ndarray]]] = field(default_factory=list)
    steps_done: int = 0


#: At most this many evaluations per trial keep snapshots (evenly spaced, always the last).
MAX_SNAPSHOTS = 101


def snapshot_steps(steps: int, eval_every: int, cap: int = MAX_SNAPSHOTS) -> frozenset[int]:
    """The evaluation steps whose samples are kept as snapshots: every evaluation step
    (multiples of ``eval_every`` and the last step) when there are at most ``cap``, else
    ``cap`` of them evenly spaced by index, the first and the last included."""
    evals = list(range(eval_every, steps + 1, eval_every))
    if not evals or evals[-1] != steps:
        evals.append(steps)
    if len(evals) > cap:
        idx = np.unique(np.round(np.linspace(0, len(evals) - 1, cap)).astype(int))
        evals = [evals[i] for i in idx]
    return frozenset(evals)


def _evolution(rec: _Record, seeds: list[int]) -> dict[str, np.ndarray]:
    """The snapshots as the arrays of ``evolution/<trial>.npz`` (empty without snapshots)."""
    if not rec.snapshots:
        return {}
    out = {"steps": np.array([st for st, _ in rec.snapshots], dtype=np.int64)}
    for seed in seeds:
        out[f"seed{seed}"] = np.stack([snap[seed] for _, snap in rec.snapshots])
    return out


def train_trial(spec: TrialSpec, on_eval: Callable[[dict[str, Any]], None] | None = None,
                probes: bool = True) -> TrialResult:
    """Train every seed of ``spec`` in lockstep and evaluate them.

    Args:
        spec: the trial.
        on_eval: called after every evaluation with a small dict of aggregate metrics
            (the runner forwards it to ``tune.report``; see :func:`_eval_summary`).
        probes: record probes every ``log_every`` steps (evaluations always record them).
    Returns:
        A :class:`TrialResult` with one row per seed, the history rows and final samples.
        Training stops early once every seed has diverged.
    """
    t0 = time.perf_counter()
    _use_threads(spec.cpus)
    tr = Trainer(spec)
    evaluator = tr.task.evaluator(tr)
    steps, eval_every = spec.budget.steps, spec.budget.eval_every
    log_every = tr.task.log_every(spec.budget)
    rec = _Record(history=[], last_probe={}, last_eval=[{} for _ in tr.seeds], samples={})
    keep = snapshot_steps(steps, eval_every) if evaluator.SNAPSHOT else frozenset()
    for step in range(1, steps + 1):
        tr.step()
        rec.steps_done = step
        is_eval = step % eval_every == 0 or step == steps
        if not (is_eval or (probes and step % log_every == 0)):
            continue
        pr, finite = _observe(tr, evaluator, rec, step, is_eval, step in keep)
        if is_eval and on_eval is not None:
            on_eval(_eval_summary(tr, rec, pr, finite, step))
        if not tr.alive.any():
            break
    wall = time.perf_counter() - t0
    rows = [_final_row(tr, evaluator, rec, s, wall) for s in range(tr.S)]
    rec.samples.update(tr.task.final_samples(tr.seeds, rec.last_probe))
    return TrialResult(rows=rows, history=rec.history, samples=rec.samples, wall_s=wall,
                       device=str(tr.device), evolution=_evolution(rec, tr.seeds))


def _observe(tr: Trainer, evaluator: Any, rec: _Record, step: int, is_eval: bool,
             snapshot: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Probe the step just taken (and evaluate, if ``is_eval``) and record it in ``rec``;
    with ``snapshot``, the first ``evaluator.SNAPSHOT`` samples per seed of this evaluation
    are kept in ``rec.snapshots`` as float16.

    A seed whose parameters or losses are not finite is marked dead at ``step``
    (``tr.alive``, ``tr.diverged_step``); it gets a history row at that step and none after.
    Returns the probes (per seed, without ``_params_finite``) and which seeds were finite.
    """
    pr = tr.probe()
    finite = (pr.pop("_params_finite") > 0.5) & np.isfinite(pr["d_loss"]) & np.isfinite(pr["g_loss"])
    newly_dead = tr.alive & ~finite
    tr.diverged_step[newly_dead] = step
    tr.alive &= finite
    evals = None
    if is_eval:
        evals, samples = evaluator.evaluate(step)
        rec.samples.update(samples)
        if snapshot:
            with np.errstate(over="ignore"):  # beyond float16's range reads back as ±inf
                rec.snapshots.append((step, {k: v[: evaluator.SNAPSHOT].astype(np.float16)
                                             for k, v in samples.items()}))
    for s, seed in enumerate(tr.seeds):
        if not tr.alive[s] and not newly_dead[s]:
            continue
        row = {"seed": seed, "step": step}
        row.update({k: float(v[s]) for k, v in pr.items()})
        if evals is not None:
            row.update({k: v for k, v in evals[s].items() if k in evaluator.HISTORY_KEYS})
            if tr.alive[s]:
                rec.last_eval[s] = evals[s]
        rec.history.append(row)
        if tr.alive[s]:
            rec.last_probe[seed] = {k: float(v[s]) for k, v in pr.items()}
    return pr, finite


def _eval_summary(tr: Trainer, rec: _Record, pr: dict[str, np.ndarray], finite: np.ndarray,
                  step: int) -> dict[str, Any]:
    """The aggregate metrics reported after an evaluation (the live view's data).

    Always: ``step``, ``steps_total`` (the trial's budget, in steps), ``seeds_alive`` and the
    mean D and G loss over the seeds (NaN when none is finite). Where the trial measures them,
    the mean over the live seeds' last evaluations of ``modes_covered`` (with ``modes_total``),
    ``hq_fraction`` (a share in [0, 1]) and ``fid``, and for the Dirac-GAN the mean distance to
    the equilibrium ``dist`` over the live seeds' probes. A metric no live seed has a finite
    value of is left out. Runs only at evaluations, never in the training step.
    """
    def finite_mean(values: Any) -> float | None:
        x = np.asarray(values, dtype=np.float64).ravel()
        x = x[np.isfinite(x)]
        return float(x.mean()) if x.size else None

    alive_rows = [e for e, a in zip(rec.last_eval, tr.alive) if a and e]
    out: dict[str, Any] = {"step": step, "steps_total": int(tr.total_steps),
                           "seeds_alive": int(tr.alive.sum()),
                           "d_loss": float(np.nanmean(pr["d_loss"])) if finite.any() else float("nan"),
                           "g_loss": float(np.nanmean(pr["g_loss"])) if finite.any() else float("nan")}
    for key in ("modes_covered", "modes_total", "hq_fraction", "fid"):
        value = finite_mean([e.get(key, np.nan) for e in alive_rows])
        if value is not None:
            out[key] = value
    if "dist" in pr:
        value = finite_mean(pr["dist"][tr.alive])
        if value is not None:
            out["dist"] = value
    return out


def _final_row(tr: Trainer, evaluator: Any, rec: _Record, s: int, wall: float) -> dict[str, Any]:
    """The trial row of seed index ``s``: its status, steps, the evaluator's ``FINAL_KEYS``
    from its last evaluation and the task's ``FINAL_PROBES`` (as ``<name>_final``) from its
    last probe (NaN for a diverged seed), the wall time (``wall_s`` is the trial's share per
    seed) and which implementation computed D."""
    seed = tr.seeds[s]
    ok = bool(tr.alive[s])
    lp, le = rec.last_probe.get(seed, {}), rec.last_eval[s]
    row: dict[str, Any] = {
        "seed": seed, "status": "ok" if ok else "diverged", "error": "",
        "steps": rec.steps_done if ok else int(tr.diverged_step[s]),
        "diverged_step": float(tr.diverged_step[s]),
    }
    for k in evaluator.FINAL_KEYS:
        row[k] = float(le.get(k, np.nan)) if ok else np.nan
    if "modes_total" in evaluator.FINAL_KEYS:
        row["modes_total"] = float(tr.dataset.n_modes)
    for k in tr.task.FINAL_PROBES:
        row[f"{k}_final"] = lp.get(k, np.nan) if ok else np.nan
    row["wall_s"] = wall / tr.S
    row["trial_wall_s"] = wall
    # which implementation computed D (the same function; sums in a different order)
    row["critic"] = "fused" if getattr(tr, "fused_critic", False) else "torch"
    return row
