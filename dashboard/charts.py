"""Plotly figure builders: each takes plain tables or values and returns a figure, nothing else."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Browsers hover SVG markers reliably; WebGL only pays off for many points.
SVG_POINT_LIMIT = 1000
ROC_POINTS = 1000
# 20 colours picked greedily from Plotly's qualitative palettes for the largest smallest
# CIEDE2000 difference (16.0; Dark24's first 16 colours have two magentas 8.7 apart),
# lightness 30-80 and chroma above 30, so that none is near white, black or gray.
# Ordered so that a map of 16 classes or fewer has one dark purple only: the violet #D626FF,
# the mauve #B279A2 and the blue-violets come last (#990099 and #D626FF were two classes alike).
CLASS_COLOURS = [
    "#1F77B4", "#86CE00", "#FB0D0D", "#FF97FF", "#990099", "#85660D", "#1C8356", "#19D3F3", "#FEAF16", "#FC0080",
    "#F8A19F", "#862A16", "#00CC96", "#FF7F0E", "#38A6A5", "#999933", "#7570B3", "#511CFB", "#D626FF", "#B279A2",
]
LEGEND_MAX = len(CLASS_COLOURS)  # above this many classes the map has no legend but a class picker
MUTED = "#c8c8c8"  # classes not highlighted
REPRESENTATIVE_COLOUR = "#111111"
PROBE_COLOUR = "#000000"  # like the representatives: no class colour
ENROLLED_COLOUR = "#f77f00"  # one colour for everyone enrolled, as the Gallery page's badge
RUN_COLOURS = px.colors.qualitative.D3
SET_COLOURS = {"right class": "#2a9d8f", "wrong class": "#e76f51", "unknown": "#6d597a"}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "template": "plotly_white"}
THRESHOLD_LABEL_MARGIN = 110  # px right of the bars for "threshold 0.1015"
HEATMAP_MAX_CLASSES = 20  # above this the heat map's cells are too small to read: top confusions instead


def label(text: object) -> str:
    """User-controlled text (a class, file or run name) as Plotly shows it: as written, since
    Plotly reads tags such as <a href=...> and <b> in legends, ticks and hover labels."""
    return html.escape(str(text), quote=False)


def _scatter_class(n_points: int) -> type[go.Scatter] | type[go.Scattergl]:
    return go.Scatter if n_points <= SVG_POINT_LIMIT else go.Scattergl


def class_colour(class_names: Sequence[str]) -> dict[str, str]:
    """A colour per class, in class order; with more classes than colours they repeat."""
    return {name: CLASS_COLOURS[i % len(CLASS_COLOURS)] for i, name in enumerate(class_names)}


def embedding_map(
    table: pd.DataFrame,
    class_names: Sequence[str],
    overlay: pd.DataFrame | None = None,
    probe_xy: Sequence[float] | None = None,
    title: str = "",
    legend: bool = True,
    highlight: Sequence[str] = (),
    enrolled: pd.DataFrame | None = None,
) -> go.Figure:
    """The t-SNE map: points coloured by class, each class's representative a hollow diamond,
    people enrolled after training as hexagrams.

    Up to ``LEGEND_MAX`` classes get a trace each, with distinct colours and a legend
    below the plot. More classes share one trace coloured per point (colours repeat;
    there is no legend): the page offers a class picker instead, and the ``highlight``
    classes get their own traces in distinct colours on top, every other point gray.
    Representatives are drawn last, as hollow diamonds larger than a tight cluster, and points
    are small with a white rim, so a class's points stay visible inside its diamond. Past
    ``SVG_POINT_LIMIT`` points the map draws with WebGL. The map fills its column (t-SNE's
    axes have no unit, so their aspect is not kept). Without a legend (``legend`` False) a
    probe's star, the enrolled people and the representatives still get their legend entries.
    The drag mode is left to Streamlit: with point selection it pans and a click selects
    (a drag mode of lasso would turn click selection off); lasso and box are in the toolbar.

    Every point's ``customdata`` starts with its global row in ``table`` (overlay rows
    continue after the last table row, then the ``enrolled`` rows), because a selection
    reports point indices per trace; then the file name, the distance to its class
    representative, and its class. The enrolled people's images (``enrolled``: file, class,
    x, y, as ``siamese.maps.training_maps.place_enrolled`` gives them) share one colour and
    a legend entry of their own; their hover names the person with "(enrolled)".
    """
    n_overlay = len(overlay) if overlay is not None else 0
    scatter = _scatter_class(len(table) + n_overlay + (len(enrolled) if enrolled is not None else 0))
    chosen = [c for c in dict.fromkeys(highlight) if c in set(class_names)]
    colours = class_colour(chosen) if chosen else class_colour(class_names)
    fig = go.Figure()
    rows = table.assign(row=range(len(table)), name=[label(Path(f).name) for f in table["file"]], shown_class=[label(c) for c in table["class"]])
    data_columns = ["row", "name", "distance_to_representative", "shown_class"]
    hover = "<b>%{customdata[3]}</b><br>%{customdata[1]}<br>distance to representative: %{customdata[2]:.3g}<extra></extra>"
    points = rows[~rows["representative"]]

    def add_points(part: pd.DataFrame, name: str, colour: Any, size: float, opacity: float, showlegend: bool) -> None:
        fig.add_trace(scatter(
            x=part["x"], y=part["y"], mode="markers", name=label(name), legendgroup=name, showlegend=showlegend,
            marker={"size": size, "color": colour, "opacity": opacity, "line": {"width": 0.6, "color": "#fff"}},
            customdata=part[data_columns].to_numpy(dtype=object), hovertemplate=hover,
        ))

    many = len(class_names) > LEGEND_MAX
    if chosen:
        rest = points[~points["class"].isin(chosen)]
        if len(rest):
            add_points(rest, "other classes", MUTED, 5, 0.6, True)
        for name in chosen:
            part = points[points["class"] == name]
            if len(part):
                add_points(part, name, colours[name], 9, 0.95, True)
    elif many:
        add_points(points, "training images", [colours[c] for c in points["class"]], 6, 0.8, False)
    else:
        for name in class_names:
            part = points[points["class"] == name]
            if len(part):
                add_points(part, name, colours[name], 6, 0.85, legend)
    if overlay is not None and len(overlay):
        placed = overlay.assign(row=range(len(table), len(table) + len(overlay)), name=[label(Path(f).name) for f in overlay["file"]],
                                 distance=float("nan"), shown_class=[label(c) for c in overlay["class"]])
        shown = placed[placed["class"].isin(chosen)] if chosen else placed
        fig.add_trace(scatter(
            x=shown["x"], y=shown["y"], mode="markers", name="test images (approximate place)",
            marker={"size": 9, "symbol": "x-thin", "line": {"width": 2, "color": [colours.get(c, "#777") for c in shown["class"]]}},
            customdata=shown[["row", "name", "distance", "shown_class"]].to_numpy(dtype=object),
            hovertemplate="<b>%{customdata[3]}</b> (test)<br>%{customdata[1]}<extra></extra>",
        ))
    if enrolled is not None and len(enrolled):
        start = len(table) + n_overlay
        people = enrolled.assign(row=range(start, start + len(enrolled)), name=[label(Path(f).name) for f in enrolled["file"]],
                                 distance=float("nan"), shown_class=[label(c) for c in enrolled["class"]])
        fig.add_trace(scatter(
            x=people["x"], y=people["y"], mode="markers", name="enrolled people (approximate place)", showlegend=True,
            marker={"size": 13, "symbol": "hexagram", "color": ENROLLED_COLOUR, "line": {"width": 1, "color": REPRESENTATIVE_COLOUR}},
            customdata=people[["row", "name", "distance", "shown_class"]].to_numpy(dtype=object),
            hovertemplate="<b>%{customdata[3]}</b> (enrolled)<br>%{customdata[1]}<extra></extra>",
        ))
    reps = rows[rows["representative"]]
    if chosen:
        reps = reps[reps["class"].isin(chosen)]
    fig.add_trace(scatter(
        x=reps["x"], y=reps["y"], mode="markers", name="representatives",
        marker=_representative_marker(many, bool(chosen)), showlegend=True,
        customdata=reps[data_columns].to_numpy(dtype=object),
        hovertemplate="<b>%{customdata[3]}</b> (representative)<br>%{customdata[1]}<extra></extra>",
    ))
    if probe_xy is not None:
        fig.add_trace(go.Scatter(
            x=[probe_xy[0]], y=[probe_xy[1]], mode="markers", name="probe (approximate place)", showlegend=True,
            marker={"size": 20, "symbol": "star-open", "color": PROBE_COLOUR, "line": {"width": 2.5}},  # open: its class shows through
            hovertemplate="probe<extra></extra>",
        ))
    # The legend goes below the plot, in rows: beside it, it took half of the plot's width.
    fig.update_layout(
        **{**LAYOUT, "margin": {**LAYOUT["margin"], "t": 40 if title else 25}}, title=title, height=620 if legend else 560, showlegend=legend or probe_xy is not None or (enrolled is not None and len(enrolled) > 0), xaxis_title="t-SNE 1", yaxis_title="t-SNE 2",
        legend={"itemsizing": "constant", "orientation": "h", "x": 0, "xanchor": "left", "y": -0.12, "yanchor": "top", "font": {"size": 11}},
    )
    return fig


def _representative_marker(many: bool, highlighted: bool) -> dict[str, Any]:
    """Hollow diamonds: around a highlighted class's points, large; among hundreds of
    classes, small and thin, so that each class's points still show around it."""
    size, width = (16, 2) if highlighted else ((7, 1) if many else (16, 1.2))
    return {"size": size, "color": REPRESENTATIVE_COLOUR, "symbol": "diamond-open", "line": {"width": width}}


def confusion_heatmap(table: pd.DataFrame) -> go.Figure:
    """The confusion table as a heat map: rows true class, columns predicted class and ``unknown``.

    Each cell is coloured by its share of the row: identifications (the diagonal) in
    blue-green, errors (another class, or rejected as unknown) in red, so that a few
    errors stand out beside many correct ones (any error at least a clear pink); the count
    is written in every non-empty cell.
    """
    counts = table.to_numpy(np.int64)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    correct = np.array([[str(true) == str(predicted) for predicted in table.columns] for true in table.index])
    # Any error is at least a clear pink: one rejected image of twenty must not look empty.
    signed = np.where(correct, share, np.where(counts > 0, -(0.3 + 0.7 * share), 0.0))
    text = np.where(counts > 0, counts.astype(str), "")
    fig = go.Figure(go.Heatmap(
        z=signed, x=[label(c) for c in table.columns], y=[label(r) for r in table.index], text=text, texttemplate="%{text}",
        customdata=counts, zmin=-1, zmax=1, showscale=False, xgap=1, ygap=1,
        colorscale=[[0.0, "#b2182b"], [0.5, "#f7f7f7"], [0.5, "#f7f7f7"], [1.0, "#2a9d8f"]],
        hovertemplate="true %{y}, predicted %{x}: %{customdata} images<extra></extra>",
    ))
    fig.update_layout(**LAYOUT, height=max(300, 130 + 24 * len(table)), title="Confusion (rows: true class; unknown = rejected)",
                      xaxis_title="predicted", yaxis_title="true class")
    fig.update_xaxes(tickangle=-45)
    fig.update_yaxes(autorange="reversed")
    return fig


def training_curves(history: pd.DataFrame, total_epochs: int) -> go.Figure:
    """Loss and pair accuracy per epoch (validation dashed, when there is one)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Training loss (the run's objective)", "Pair accuracy"))
    for col, metric in ((1, "loss"), (2, "pair_accuracy")):
        for prefix, dash in (("", "solid"), ("val_", "dash")):
            name = prefix + metric
            if name in history.columns:
                fig.add_trace(go.Scatter(x=history["epoch"], y=history[name], mode="lines+markers", name=name.replace("_", " "), line={"dash": dash}), row=1, col=col)
    fig.update_xaxes(title_text="epoch", range=[0.5, max(total_epochs, 1) + 0.5])
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(**LAYOUT, height=320)
    return fig


def compared_training_curves(histories: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Several runs' loss and pair accuracy per epoch overlaid: one colour per run, validation dashed.

    Each run's line is narrower than the one before, so identical histories (one network
    with representatives chosen twice) still show every run's colour.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Training loss (the run's objective)", "Pair accuracy"))
    for i, (run, history) in enumerate(histories.items()):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        shown = False
        for col, metric in ((1, "loss"), (2, "pair_accuracy")):
            for prefix, dash in (("", "solid"), ("val_", "dash")):
                name = prefix + metric
                if name in history.columns and len(history):
                    fig.add_trace(go.Scatter(
                        x=history["epoch"], y=history[name], mode="lines+markers", name=label(run), legendgroup=run, showlegend=not shown,
                        line={"color": colour, "dash": dash, "width": max(1.5, 5.0 - 1.5 * i)}, marker={"size": max(4, 8 - 2 * i)},
                        hovertemplate=f"{label(run)}<br>epoch %{{x}}: {name.replace('_', ' ')} %{{y:.4f}}<extra></extra>",
                    ), row=1, col=col)
                    shown = True
    epochs = max((int(h["epoch"].max()) for h in histories.values() if len(h)), default=1)
    step = next((n * 10**k for k in range(6) for n in (1, 2, 5) if n * 10**k >= epochs / 10), None)  # whole epochs, about ten ticks
    fig.update_xaxes(title_text="epoch", range=[0.5, epochs + 0.5], tick0=0, dtick=step)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(**LAYOUT, height=340, legend={"title": {"text": "run (validation dashed)"}})
    return fig


def distance_histograms(groups: Mapping[str, Sequence[float]], threshold: float, bins: int = 40, threshold_text: str | None = None) -> go.Figure:
    """Overlaid histograms of nearest-class distance per group, with the threshold line.

    The counts are binned here (shared edges for every group) and drawn as bars, so the
    figure carries 40 numbers per group instead of every distance: with 10,000 test
    images a threshold move then sends kilobytes to the browser, not megabytes.
    """
    every = [v for values in groups.values() for v in values]
    edges = np.linspace(0.0, max(every) if every else 1.0, bins + 1)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
    fig = go.Figure()
    for name, values in groups.items():
        if len(values):
            counts, _ = np.histogram(values, bins=edges)
            fig.add_trace(go.Bar(
                x=centres, y=counts, width=width, name=f"{name} ({len(values)})", opacity=0.6, marker_color=SET_COLOURS.get(name),
                hovertemplate="distance %{x:.3g}<br>%{y} images<extra></extra>",
            ))
    fig.add_vline(x=threshold, line={"color": "#000", "dash": "dash", "width": 2}, annotation_text=f"threshold {threshold_text or threshold}")
    fig.update_layout(**LAYOUT, barmode="overlay", bargap=0, height=340, title="Distance to the nearest class", xaxis_title="distance", yaxis_title="images")
    return fig


def roc_curve(false_reject_known: Sequence[float], reject_unknown: Sequence[float], auroc: float, point: tuple[float, float]) -> go.Figure:
    """Known-vs-unknown ROC with the current threshold's point marked."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": "#bbb", "dash": "dot"}, name="chance", hoverinfo="skip"))
    # A curve of 10,000 steps looks the same as one of 1,000: thin it for the browser.
    keep = np.unique(np.linspace(0, len(false_reject_known) - 1, min(len(false_reject_known), ROC_POINTS)).round().astype(int))
    fig.add_trace(go.Scatter(
        x=np.asarray(false_reject_known)[keep], y=np.asarray(reject_unknown)[keep], mode="lines", name=f"ROC (AUROC {auroc:.3f})", line={"color": "#264653"},
    ))
    fig.add_trace(go.Scatter(
        x=[point[0]], y=[point[1]], mode="markers", name="current threshold", marker={"size": 14, "color": "#e63946", "line": {"width": 2, "color": "#000"}},
        hovertemplate="known rejected %{x:.3f}<br>unknown rejected %{y:.3f}<extra></extra>",
    ))
    fig.update_layout(**LAYOUT, height=340, title="Rejecting unknown faces", xaxis_title="known images rejected (false reject rate)", yaxis_title="unknown images rejected")
    fig.update_xaxes(range=[-0.02, 1.02])
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def dir_far_curve(far: Sequence[float], dir_: Sequence[float], point: tuple[float, float]) -> go.Figure:
    """Open-set identification: known faces identified (DIR) against strangers accepted (FAR),
    on a log false-alarm axis as face-recognition reports draw it, with the current threshold."""
    far = np.asarray(far, np.float64)
    floor = 0.5 / max(len(far) - 1, 1)  # zero false alarms drawn at half the smallest non-zero rate
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=np.maximum(far, floor), y=dir_, mode="lines", line={"color": "#264653", "shape": "hv"}, name="DIR",
        hovertemplate="strangers accepted %{x:.3f}<br>known identified %{y:.3f}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=[max(point[0], floor)], y=[point[1]], mode="markers", name="current threshold", marker={"size": 14, "color": "#e63946", "line": {"width": 2, "color": "#000"}},
        hovertemplate="strangers accepted %{x:.3f}<br>known identified %{y:.3f}<extra></extra>",
    ))
    fig.update_layout(**LAYOUT, height=320, title="Identified vs strangers accepted (DIR / FAR)", xaxis_title="strangers accepted (false-alarm rate, log)",
                      yaxis_title="known identified (DIR)")
    fig.update_xaxes(type="log", range=[np.log10(floor) - 0.1, 0.05])
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def cmc_curve(rates: Sequence[float], identified_rate: float) -> go.Figure:
    """Cumulative match characteristic: the true class among the r nearest, for rank r; the
    current threshold's identified rate (rank 1 and closer than the threshold) as a line."""
    ranks = list(range(1, len(rates) + 1))
    fig = go.Figure(go.Scatter(
        x=ranks, y=rates, mode="lines+markers", line={"color": "#264653"}, name="CMC", hovertemplate="rank %{x}: %{y:.3f}<extra></extra>",
    ))
    fig.add_hline(y=identified_rate, line={"color": "#e63946", "dash": "dash", "width": 2}, annotation_text=f"identified at the threshold {identified_rate:.3f}",
                  annotation_position="bottom right")
    fig.update_layout(**LAYOUT, height=320, title="Identification by rank (CMC)", xaxis_title="rank", yaxis_title="true class within the rank", showlegend=False)
    fig.update_xaxes(tickvals=ranks)
    fig.update_yaxes(range=[min(min(rates, default=1.0), identified_rate) - 0.05, 1.02])
    return fig


def class_distance_bars(distances: Mapping[str, float], threshold: float, nearest: str, threshold_text: str | None = None) -> go.Figure:
    """Distance from a probe to every class, nearest first, with the threshold line; its label
    (``threshold_text``, the page's own writing of the value) sits in the right margin, beside
    the line's end, where no bar can be under it."""
    ordered = sorted(distances.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(
        x=[label(k) for k, _ in ordered], y=[v for _, v in ordered],
        marker_color=["#e63946" if k == nearest else "#8d99ae" for k, _ in ordered],
        hovertemplate="%{x}: %{y:.3g}<extra></extra>",
    ))
    fig.add_hline(y=threshold, line={"color": "#000", "dash": "dash", "width": 2}, layer="above")
    fig.add_annotation(text=f"threshold {threshold_text or threshold}", xref="paper", x=1.0, xanchor="left", y=threshold, yref="y",
                       showarrow=False, xshift=4, align="left")
    fig.update_layout(**{**LAYOUT, "margin": {**LAYOUT["margin"], "r": THRESHOLD_LABEL_MARGIN}}, height=320, title="Distance to each class", yaxis_title="distance")
    return fig


def class_counts(counts: Mapping[str, int]) -> go.Figure:
    """Images per class."""
    fig = go.Figure(go.Bar(x=[label(c) for c in counts], y=list(counts.values()), marker_color="#457b9d", hovertemplate="%{x}: %{y} images<extra></extra>"))
    fig.update_layout(**LAYOUT, height=260, title="Images per class", yaxis_title="images")
    return fig


def figure_config() -> dict[str, Any]:
    """Plotly toolbar settings shared by every chart."""
    return {"displaylogo": False}
