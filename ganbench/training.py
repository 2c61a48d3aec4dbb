"""The training loop for one trial: all seeds of one dataset × combo in lockstep.

Lean by design (toy networks are overhead-bound): noise and data are drawn into
preallocated buffers from one random stream per seed (the noise by a compiled counter-based
generator on all of the trial's threads, :mod:`ganbench.noise`), gradients are taken with ``torch.autograd.grad`` for exactly the
parameters being updated, the generator runs forward once per step (the last critic step's
fake batch is reused for the G step, as in the PyTorch DCGAN tutorial), a per-sample MLP
critic sees the real and the fake batch in one pass, a one-hidden-layer ReLU critic runs as
one fused kernel (:mod:`ganbench.nets.fused_critic`) unless a remedy needs its second
derivatives, the optimisers are the fused kernels,
and probes read the device only every ``log_every`` steps (``make bench`` measures each).

Probes (every ``log_every`` steps and at every evaluation) record per seed: D and G loss,
the L2 norm of ∂L_G/∂θ_G and ∂L_D/∂θ_D in total and per layer (the gradients of the
update just taken), and D's mean output on the real and fake batch of the last D step
(a probability where the loss has a sigmoid, else the raw critic value). Evaluations
(every ``eval_every`` steps and at the end) draw ``eval_samples`` samples per seed from a
separate random stream, so evaluating never changes training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from ganbench import perf
from ganbench.data.toy import DATASETS, ToyDataset
from ganbench.nets.mlp import SeededMLP, stream_seed
from ganbench.noise import NoiseStream
from ganbench.objectives import LOSSES
from ganbench.suite import TrialSpec

from ganbench.evaluation import REAL_REFERENCE_SEED  # noqa: E402,F401  (recorded in the manifest)
#: Default Dirac-GAN step size h (Mescheder et al. 2018).
DIRAC_DEFAULT_H = 0.2


from ganbench.remedies.base import Remedy as _BASE  # noqa: E402


@dataclass
class TrialResult:
    """What one trial produced: per-seed final rows, the history and final samples."""

    rows: list[dict[str, Any]]
    history: list[dict[str, Any]]
    samples: dict[int, np.ndarray]
    wall_s: float
    device: str


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


class Trainer:
    """Holds the networks, optimisers, buffers and random streams of one trial."""

    def __init__(self, spec: TrialSpec, device: torch.device | None = None):
        perf.tune_allocator()
        self.spec = spec
        self.device = device or resolve_device(spec)
        self.dataset = build_dataset(spec)
        self.objective = LOSSES.get(spec.loss)
        self.seeds = list(spec.seeds)
        S = len(self.seeds)
        self.S = S
        self.is_dirac = self.dataset.kind == "dirac"
        opt = spec.optimizer
        self.batch = opt.batch_size
        dim = self.dataset.dim
        from ganbench.remedies import REMEDIES
        from ganbench.remedies.base import Build

        self.remedies = [REMEDIES.get(name)(params) for name, params in spec.remedies.items()]
        betas = (float(opt.betas[0]), float(opt.betas[1]))
        if self.is_dirac:
            p = self.dataset.params
            h = p.h if p.h is not None else (opt.lr if opt.name == "sgd" else DIRAC_DEFAULT_H)
            lr = float(h)
            self.opt_name, self.momentum = "sgd", 0.0
        else:
            lr = opt.lr
            self.opt_name, self.momentum = opt.name, opt.momentum
        build = Build(lr_d=lr, lr_g=lr, betas_d=betas, betas_g=betas, is_dirac=self.is_dirac)
        for r in self.remedies:
            r.configure(build)
        self.build = build
        from ganbench.nets.build import NET_BUILDERS

        self.G, self.D, self.z_dim = NET_BUILDERS.get(self.dataset.kind)(spec.model, self.dataset,
                                                                          self.seeds, build)
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
        # a one-hidden-layer ReLU critic runs as one fused kernel (ganbench.nets.fused_critic)
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
        """The next ``[S, batch, z_dim]`` noise batch (see :class:`ganbench.noise.NoiseStream`:
        each seed from its own Philox stream, shared across the trial's threads)."""
        if self.is_dirac:
            return self.z
        self.z = self.noise.next()
        return self.z

    def draw_real(self) -> torch.Tensor:
        if not self.is_dirac:
            self.dataset.sample_seeds_into(self.real, self.data_gens)
        return self.real

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
            if self.is_dirac:
                names += ["theta", "psi"]
                vals += [self.G.theta.detach().reshape(self.S), self.D.psi.detach().reshape(self.S)]
        arr = torch.stack(vals).cpu().numpy().astype(np.float64)
        out = dict(zip(names, arr))
        if self.is_dirac:
            out["dist"] = np.sqrt(out["theta"] ** 2 + out["psi"] ** 2)
        return out

    def generate(self, n: int, step: int) -> np.ndarray:
        """``[S, n, dim]`` samples from each seed's G on the evaluation stream of ``step``."""
        with torch.no_grad():
            z = torch.empty(self.S, n, self.z_dim, device=self.device)
            for s, seed in enumerate(self.seeds):
                g = torch.Generator(device=self.device).manual_seed(stream_seed(seed, "eval", step))
                torch.randn(n, self.z_dim, generator=g, out=z[s])
            return self.G(z).float().cpu().numpy()


def train_trial(spec: TrialSpec, on_eval: Callable[[dict[str, Any]], None] | None = None,
                probes: bool = True) -> TrialResult:
    """Train every seed of ``spec`` in lockstep and evaluate them.

    Args:
        spec: the trial.
        on_eval: called after every evaluation with a small dict of aggregate metrics
            (the runner forwards it to ``tune.report``).
        probes: record probes every ``log_every`` steps (evaluations always record them).
    Returns:
        A :class:`TrialResult` with one row per seed, the history rows and final samples.
    """
    t0 = time.perf_counter()
    threads = max(1, int(round(spec.cpus)))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    tr = Trainer(spec)
    from ganbench.evaluation import EVALUATORS

    evaluator = EVALUATORS.get(tr.dataset.kind)(tr)
    budget = spec.budget
    steps = budget.steps
    log_every = 1 if tr.is_dirac else budget.log_every
    eval_every = budget.eval_every

    history: list[dict[str, Any]] = []
    last_probe: dict[str, np.ndarray] = {}
    last_eval: list[dict[str, Any]] = [{} for _ in tr.seeds]
    final_samples: dict[int, np.ndarray] = {}
    steps_done = 0

    def evaluate(step: int) -> list[dict[str, Any]]:
        metrics, samples = evaluator.evaluate(step)
        final_samples.update(samples)
        return metrics

    for step in range(1, steps + 1):
        tr.step()
        steps_done = step
        is_eval = step % eval_every == 0 or step == steps
        if not (is_eval or (probes and step % log_every == 0)):
            continue
        pr = tr.probe()
        finite = (pr.pop("_params_finite") > 0.5) & np.isfinite(pr["d_loss"]) & np.isfinite(pr["g_loss"])
        newly_dead = tr.alive & ~finite
        tr.diverged_step[newly_dead] = step
        tr.alive &= finite
        evals = evaluate(step) if is_eval else None
        for s, seed in enumerate(tr.seeds):
            if not tr.alive[s] and not newly_dead[s]:
                continue
            row = {"seed": seed, "step": step}
            row.update({k: float(v[s]) for k, v in pr.items()})
            if evals is not None:
                row.update({k: v for k, v in evals[s].items() if k in evaluator.HISTORY_KEYS})
                if tr.alive[s]:
                    last_eval[s] = evals[s]
            history.append(row)
            if tr.alive[s] or newly_dead[s]:
                last_probe.setdefault(seed, {})
                if tr.alive[s]:
                    last_probe[seed] = {k: float(v[s]) for k, v in pr.items()}
        if is_eval and on_eval is not None:
            alive_rows = [e for e, a in zip(last_eval, tr.alive) if a and e]
            rec = {"step": step, "seeds_alive": int(tr.alive.sum()),
                   "d_loss": float(np.nanmean(pr["d_loss"])) if finite.any() else float("nan"),
                   "g_loss": float(np.nanmean(pr["g_loss"])) if finite.any() else float("nan")}
            if alive_rows and "modes_covered" in alive_rows[0] and np.isfinite(alive_rows[0]["modes_covered"]):
                rec["modes_covered"] = float(np.mean([e["modes_covered"] for e in alive_rows]))
            on_eval(rec)
        if not tr.alive.any():
            break

    wall = time.perf_counter() - t0
    rows = []
    for s, seed in enumerate(tr.seeds):
        lp = last_probe.get(seed, {})
        le = last_eval[s]
        status = "ok" if tr.alive[s] else "diverged"
        row: dict[str, Any] = {
            "seed": seed, "status": status, "error": "",
            "steps": steps_done if tr.alive[s] else int(tr.diverged_step[s]),
            "diverged_step": float(tr.diverged_step[s]),
        }
        for k in evaluator.FINAL_KEYS:
            row[k] = float(le.get(k, np.nan)) if status == "ok" else np.nan
        if "modes_total" in evaluator.FINAL_KEYS:
            row["modes_total"] = float(tr.dataset.n_modes)
        for k in ("d_loss", "g_loss", "g_grad_norm", "d_grad_norm", "d_real", "d_fake"):
            row[f"{k}_final"] = lp.get(k, np.nan) if status == "ok" else np.nan
        if tr.is_dirac:
            for k in ("theta", "psi", "dist"):
                row[f"{k}_final"] = lp.get(k, np.nan) if status == "ok" else np.nan
            final_samples[seed] = np.array([[lp.get("theta", np.nan)]], dtype=np.float32)
        row["wall_s"] = wall / tr.S
        row["trial_wall_s"] = wall
        # which implementation computed D (the same function; sums in a different order)
        row["critic"] = "fused" if getattr(tr, "fused_critic", False) else "torch"
        rows.append(row)
    return TrialResult(rows=rows, history=history, samples=final_samples, wall_s=wall,
                       device=str(tr.device))
