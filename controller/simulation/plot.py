"""PNG plot of a simulation run (matplotlib, imported lazily, Agg backend)."""

from __future__ import annotations

from pathlib import Path

from controller.simulation.timeseries import SimSeries

__all__ = ["plot_series"]


def plot_series(series: SimSeries, path: Path | str, *, title: str = "") -> None:
    """Grid, battery, load, PV and set-point against time, SoC below; written to ``path`` as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = [t / 3600.0 for t in series.t_s]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(14, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1]}, constrained_layout=True
    )
    top.plot(hours, series.load_w, label="load W", color="tab:gray", linewidth=0.6)
    if any(series.pv_w):
        top.plot(hours, series.pv_w, label="PV W", color="tab:orange", linewidth=0.6)
    top.plot(hours, series.battery_w, label="battery W (+ discharge)", color="tab:green", linewidth=0.7)
    top.step(hours, series.setpoint_w, label="set-point W", color="tab:olive", linewidth=0.6, where="post")
    top.plot(hours, series.grid_w, label="grid W (+ import)", color="tab:red", linewidth=0.7)
    top.axhline(0.0, color="black", linewidth=0.5)
    top.set_ylabel("W")
    top.legend(loc="upper right", fontsize="small", ncol=3)
    if title:
        top.set_title(title)
    bottom.plot(hours, series.soc_pct, color="tab:blue", linewidth=0.8)
    bottom.set_ylabel("SoC %")
    bottom.set_xlabel("hours")
    fig.savefig(Path(path), dpi=110)
    plt.close(fig)
