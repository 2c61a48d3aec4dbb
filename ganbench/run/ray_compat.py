"""The one place ganbench reaches into Ray's private internals.

Everything else in ganbench talks to Ray through its public API (``PublicAPI`` /
``DeveloperAPI`` in ``ray.util.annotations``). What Ray offers no public API for lives here,
as a small adapter that fails with a clear message, naming the Ray version, when a Ray upgrade
moves what it relies on; ``tests/test_ray_compat.py`` checks the same against the installed Ray.
"""

from __future__ import annotations

from typing import Any, Sequence

#: Ray releases these adapters were read against and tested with.
CHECKED_RAY_VERSIONS = ("2.60.0",)


class RayCompatError(RuntimeError):
    """A Ray internal that an adapter of this module relies on is gone or has changed."""


def _ray_version() -> str:
    try:
        import ray

        return ray.__version__
    except Exception:  # pragma: no cover - ray is a hard dependency
        return "?"


def set_tuner_callbacks(tuner: Any, callbacks: Sequence[Any]) -> None:
    """Make ``tuner.fit()`` use ``callbacks``, replacing those the tuner carries.

    Meant for a ``ray.tune.Tuner`` built by ``Tuner.restore(...)`` (``ganbench run --resume``):
    ``Tuner.restore`` takes no ``run_config`` and restores the ``RunConfig`` pickled in the
    experiment's ``tuner.pkl``, callbacks included, and neither ``Tuner`` nor ``Tuner.restore``
    has a public way to set callbacks on a tuner once built (``tune.run(resume=...)``, which
    takes callbacks, is the legacy API that returns an ExperimentAnalysis, not a ResultGrid).
    So this sets ``RunConfig.callbacks`` (a public field) on the tuner's private run config,
    ``tuner._local_tuner._run_config``, which ``TunerInternal.fit`` passes to ``tune.run``.

    Checked against Ray 2.60.0 (see :data:`CHECKED_RAY_VERSIONS`): ``Tuner._local_tuner`` is the
    ``ray.tune.impl.tuner_internal.TunerInternal`` (absent under Ray Client, where the tuner is
    a remote actor: not supported) and ``TunerInternal._run_config`` its ``RunConfig``.

    Raises :class:`RayCompatError` when the installed Ray lays the tuner out differently.
    """
    local = getattr(tuner, "_local_tuner", None)
    if local is None:
        raise RayCompatError(
            f"ray {_ray_version()}: tune.Tuner has no private attribute '_local_tuner' "
            f"(checked against ray {', '.join(CHECKED_RAY_VERSIONS)}; Ray Client tuners are not "
            "supported); cannot set the callbacks of a restored Tuner - update "
            "ganbench.run.ray_compat.set_tuner_callbacks")
    run_config = getattr(local, "_run_config", None)
    if run_config is None or not hasattr(run_config, "callbacks"):
        raise RayCompatError(
            f"ray {_ray_version()}: {type(local).__name__} has no private attribute '_run_config' "
            f"holding a RunConfig (checked against ray {', '.join(CHECKED_RAY_VERSIONS)}); cannot "
            "set the callbacks of a restored Tuner - update ganbench.run.ray_compat.set_tuner_callbacks")
    run_config.callbacks = list(callbacks)
