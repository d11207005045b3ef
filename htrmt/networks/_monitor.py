"""Monitoring HT-SR metrics during training: per-layer α, α̂, entropy and phase at checkpoints."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ._report import COLUMNS, write_atomic

__all__ = ["Monitor", "fit_with_monitor"]


@dataclasses.dataclass
class Monitor:
    """Records :func:`htrmt.analyze` at training checkpoints.

    Each :meth:`record` analyses the model (any object ``analyze`` reads) and keeps the
    per-layer rows and the summary. The history can be read as series, exported to JSON or
    pandas, and plotted with :func:`htrmt.plotting.plot_monitor`.

    Attributes:
        analyze_kwargs: keyword arguments passed to :func:`htrmt.analyze` (``fingers=False`` by
            default to keep checkpoints cheap).
        steps: the recorded steps (epochs or iterations), in order.
        rows: per step, ``{layer name: LayerResult}``.
        summaries: per step, the :class:`Summary`.

    Example:
        >>> import jax, equinox as eqx, htrmt as ht
        >>> mon = ht.networks.Monitor()
        >>> rep = mon.record(0, eqx.nn.MLP(32, 4, 64, 1, key=jax.random.key(0)))
        >>> mon.series("alpha")[0]
        [0]
    """

    analyze_kwargs: dict[str, Any] = dataclasses.field(default_factory=lambda: {"fingers": False})
    steps: list[int] = dataclasses.field(default_factory=list)
    rows: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    summaries: list[Any] = dataclasses.field(default_factory=list)

    def record(self, step: int, model: Any) -> Any:
        """Analyse ``model`` and store the result under ``step``; returns the report."""
        from ._analyze import analyze

        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int, got step={step!r}")
        if self.steps and int(step) <= self.steps[-1]:
            raise ValueError(f"step must increase, got step={step} after {self.steps[-1]}")
        rep = analyze(model, **self.analyze_kwargs)
        self.steps.append(int(step))
        self.rows.append({r.name: r for r in rep.layers})
        self.summaries.append(rep.summary)
        return rep

    @property
    def layer_names(self) -> list[str]:
        names: list[str] = []
        for rows in self.rows:
            for n in rows:
                if n not in names:
                    names.append(n)
        return names

    def series(self, column: str) -> tuple[list[int], dict[str, np.ndarray]]:
        """``(steps, {layer: values})`` for one column of the layer table (NaN where absent)."""
        if column not in COLUMNS:
            raise ValueError(f"column must be one of {list(COLUMNS)}, got column={column!r}")
        out: dict[str, Any] = {}
        for name in self.layer_names:
            vals = [getattr(rows[name], column) if name in rows else None for rows in self.rows]
            if column == "phase":
                out[name] = np.array([v if v is not None else "" for v in vals], dtype=object)
            else:
                out[name] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        return list(self.steps), out

    def summary_series(self, field: str) -> tuple[list[int], np.ndarray]:
        """``(steps, values)`` of one summary field (``"alpha_weighted"`` is α̂)."""
        if not self.summaries:
            return [], np.array([])
        if not hasattr(self.summaries[0], field):
            raise ValueError(f"field {field!r} is not a Summary field")
        return list(self.steps), np.array([getattr(s, field) for s in self.summaries], float)

    def to_records(self) -> list[dict[str, Any]]:
        recs = []
        for step, rows in zip(self.steps, self.rows, strict=True):
            for r in rows.values():
                d = dataclasses.asdict(r)
                d["step"] = step
                recs.append(d)
        return recs

    def to_pandas(self):
        """Long-format table: one row per (step, layer)."""
        import pandas as pd

        return pd.DataFrame(self.to_records(), columns=["step", *COLUMNS])

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        data = {
            "steps": self.steps,
            "summaries": [
                {k: clean(v) for k, v in dataclasses.asdict(s).items()} for s in self.summaries
            ],
            "layers": [{k: clean(v) for k, v in r.items()} for r in self.to_records()],
        }
        text = json.dumps(data, indent=1, allow_nan=False)
        if path is not None:
            write_atomic(path, text + "\n")
        return text


def fit_with_monitor(
    model: Any,
    optimizer: Any,
    loss_fn: Callable[..., Any],
    batches: Callable[[int], Iterable[tuple]],
    *,
    num_epochs: int,
    monitor: Monitor | None = None,
    every: int = 1,
    callback: Callable[[int, Any, float], None] | None = None,
) -> tuple[Any, Monitor]:
    """Train an equinox model with an optax optimizer, recording HT-SR metrics every few epochs.

    Args:
        model: an equinox Module.
        optimizer: an ``optax.GradientTransformation``.
        loss_fn: ``loss_fn(model, *batch) -> scalar``.
        batches: ``batches(epoch)`` returns the iterable of batches (tuples) of that epoch.
        num_epochs: number of epochs.
        monitor: the :class:`Monitor` to fill (a new one by default).
        every: record every ``every`` epochs (and always before the first and after the last).
        callback: called as ``callback(epoch, model, mean_loss)`` after each epoch.

    Returns:
        ``(trained model, monitor)``; a new monitor's step 0 is the model before training, step
        ``e`` the model after epoch ``e``.

    Example:
        >>> import jax, jax.numpy as jnp, equinox as eqx, optax, htrmt as ht
        >>> X = jax.random.normal(jax.random.key(1), (64, 16)); y = X[:, :2]
        >>> loss = lambda m, x, t: jnp.mean((jax.vmap(m)(x) - t) ** 2)
        >>> net = eqx.nn.MLP(16, 2, 32, 1, key=jax.random.key(0))
        >>> net, mon = ht.networks.fit_with_monitor(net, optax.adam(1e-2), loss,
        ...     lambda e: [(X, y)], num_epochs=2)
        >>> mon.steps
        [0, 1, 2]
    """
    import equinox as eqx

    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"num_epochs must be an int >= 1, got num_epochs={num_epochs!r}")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an int >= 1, got every={every!r}")
    mon = monitor if monitor is not None else Monitor()
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(model, opt_state, *batch):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, *batch)
        updates, opt_state = optimizer.update(
            grads, opt_state, eqx.filter(model, eqx.is_inexact_array)
        )
        return eqx.apply_updates(model, updates), opt_state, loss

    if not mon.steps:
        mon.record(0, model)
    offset = mon.steps[-1]  # a monitor carried over from earlier training continues its count
    for epoch in range(1, num_epochs + 1):
        losses = []
        for batch in batches(epoch):
            model, opt_state, loss = step(model, opt_state, *batch)
            losses.append(float(loss))
        if callback is not None:
            callback(epoch, model, float(np.mean(losses)) if losses else float("nan"))
        if epoch % every == 0 or epoch == num_epochs:
            mon.record(offset + epoch, model)
    return model, mon
