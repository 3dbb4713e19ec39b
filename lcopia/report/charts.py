"""Charts for the Board report: matplotlib figures emitted as embedded PNG with alt text.

Each chart comes with a plain-text description (the ``alt`` attribute) and a table that says
the same thing, so a trustee reading a grayscale print, or using a screen reader, loses
nothing. Figures are drawn on a ``Figure`` object with the Agg canvas, never through pyplot,
so the ``MPLBACKEND`` of the machine cannot drop them, and the PNG carries no software stamp
(the same assessment gives the same bytes).
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections import Counter
from dataclasses import dataclass, field

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.text import Text

from lcopia.models import Assessment, RiskBand

# Hatches from the highest band down, so the map reads the same printed in black and white;
# the fill colours themselves come from scales.yaml (RiskBand.colour).
HATCHES = ("xx", "//", "..", "", "\\\\", "++")
FONT = "DejaVu Sans"
DPI = 150


@dataclass(frozen=True)
class Chart:
    """One chart ready for HTML: PNG bytes, the alt text and a table equivalent."""

    title: str
    png: bytes
    alt: str
    caption: str
    table_head: list[str]
    table_rows: list[list[str]] = field(default_factory=list)
    width_in: float = 6.5  # printed width; the PNG has 150 dpi of detail behind it
    texts: tuple[str, ...] = ()  # every label drawn, so tests can see none is cut short
    min_print_pt: float = 0.0  # smallest text on the printed page, in points

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def to_html(self) -> str:
        """A <figure> with real alt text, followed by the same facts as a table."""
        e = html.escape
        head = "".join(f'<th scope="col">{e(h)}</th>' for h in self.table_head)
        body = "".join(
            "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
            for row in self.table_rows)
        return (
            f'<figure class="chart"><img src="{self.data_uri()}" alt="{e(self.alt)}" '
            f'style="width: {self.width_in:.2f}in">'
            f"<figcaption>{e(self.caption)}</figcaption></figure>"
            f'<table class="chart-table"><caption>Table equivalent: {e(self.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"Chart: {self.title}"


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def luminance(hex_colour: str) -> float:
    """Relative lightness (Rec. 709 weights) that decides dark or light text on a fill."""
    r, g, b = _rgb(hex_colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def band_styles(bands: list[RiskBand]) -> dict[str, dict[str, str]]:
    """Fill, edge, text color and hatch of each band, from scales.yaml's colors.

    The edge is the fill darkened to 45 %, the text white on dark fills; the hatch steps with
    the band's rank so grayscale prints keep the bands apart.
    """
    out: dict[str, dict[str, str]] = {}
    for i, band in enumerate(sorted(bands, key=lambda b: -b.min)):
        r, g, b = _rgb(band.colour)
        edge = "#{:02x}{:02x}{:02x}".format(*(round(c * 255 * 0.45) for c in (r, g, b)))
        out[band.label] = {"face": band.colour, "edge": edge,
                           "ink": "#ffffff" if luminance(band.colour) < 0.45 else "#1b1b1b",
                           "hatch": HATCHES[i % len(HATCHES)]}
    return out


def mpl_text(text: str) -> str:
    """Text from the data made safe for matplotlib: a ``$…$`` pair is not mathtext."""
    return text.replace("$", r"\$")


def band_of(score: int, bands: list[RiskBand]) -> str:
    """Band label of a 1-16 risk score (scores between bands go to the band below)."""
    label = bands[0].label
    for band in sorted(bands, key=lambda b: b.min):
        if score >= band.min:
            label = band.label
    return label


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _drawn(fig: Figure, width_in: float) -> tuple[tuple[str, ...], float]:
    """The labels a figure draws and its smallest text at the printed width, in points."""
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    scale = width_in / fig.get_figwidth()
    return (tuple(t.get_text() for t in texts),
            min((t.get_fontsize() * scale for t in texts), default=0.0))


def wrap_label(text: str, width: int = 28, lines: int = 3) -> str:
    """A long name on up to ``lines`` lines; only a name longer than that loses words."""
    wrapped = textwrap.wrap(text, width=width, break_long_words=True) or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], textwrap.shorten(
            " ".join(wrapped[lines - 1:]), width=width, placeholder=" [...]")]
    return "\n".join(wrapped)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.set_facecolor("white")
    return fig


def risk_map(assessment: Assessment, bands: list[RiskBand]) -> Chart:
    """4×4 severity × likelihood map of every data flow, inherent → residual.

    Severity does not change with controls; likelihood does. So each movement is a
    horizontal arrow from the flow's likelihood without controls to its likelihood with the
    controls in place today. Filled circles count flows where they stand now.
    """
    moves = Counter(
        (f.severity, f.inherent_likelihood, f.residual_likelihood) for f in assessment.flows)
    now = Counter((f.severity, f.residual_likelihood) for f in assessment.flows)
    before = Counter((f.severity, f.inherent_likelihood) for f in assessment.flows)

    styles = band_styles(bands)
    lowest = min(bands, key=lambda b: b.min).label
    width = 5.8  # drawn at the size it prints, so 8 pt here is 8 pt on paper
    fig = _new_figure(width, 5.2)
    ax = fig.add_subplot()
    for sev in range(1, 5):
        for lik in range(1, 5):
            label = band_of(sev * lik, bands)
            style = styles.get(label, styles[lowest])
            ax.add_patch(Rectangle(
                (lik - 0.5, sev - 0.5), 1, 1, facecolor=style["face"], edgecolor="white",
                hatch=style["hatch"], linewidth=2))
            ax.add_patch(Rectangle(
                (lik - 0.5, sev - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=3))
            ax.text(lik - 0.44, sev + 0.44, f"{label} {sev * lik}", ha="left", va="top",
                    fontsize=8, family=FONT, color="#222222",
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.85})
    for sev, lik_in, lik_res in sorted(moves):
        if lik_in != lik_res:
            ax.add_patch(FancyArrowPatch(
                (lik_in - 0.05, sev - 0.18), (lik_res + 0.22, sev - 0.18),
                arrowstyle="-|>", mutation_scale=12, linewidth=1.4, color="#222222"))
    for (sev, lik), n in sorted(before.items()):
        ax.scatter([lik], [sev - 0.18], s=260, facecolor="white", edgecolor="#222222",
                   linestyle="--", linewidth=1.2, zorder=3)
        ax.text(lik, sev - 0.18, str(n), ha="center", va="center", fontsize=8.5, family=FONT,
                color="#222222", zorder=4)
    for (sev, lik), n in sorted(now.items()):
        ax.scatter([lik], [sev + 0.12], s=340, facecolor="#1f2d3d", edgecolor="#1f2d3d",
                   zorder=5)
        ax.text(lik, sev + 0.12, str(n), ha="center", va="center", fontsize=9,
                family=FONT, color="white", weight="bold", zorder=6)
    ax.set_xlim(0.5, 4.5)
    ax.set_ylim(0.5, 4.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(1, 5), ["1 Negligible", "2 Limited", "3 Important", "4 Maximum"],
                  fontsize=8, family=FONT)
    ax.set_yticks(range(1, 5), ["1 Negligible", "2 Limited", "3 Significant", "4 Maximum"],
                  fontsize=8, family=FONT)
    ax.set_xlabel("Likelihood", fontsize=9, family=FONT)
    ax.set_ylabel("Severity", fontsize=9, family=FONT)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.scatter([], [], s=120, facecolor="#1f2d3d", label="Flows today (with controls in place)")
    ax.scatter([], [], s=120, facecolor="white", edgecolor="#222222", linestyle="--",
               label="Flows without any controls")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False,
              fontsize=8, prop={"family": FONT, "size": 8})

    rows: list[list[str]] = []
    for (sev, lik_in, lik_res), n in sorted(moves.items(), key=lambda kv: (-kv[0][0] * kv[0][2],
                                                                          -kv[0][0], kv[0])):
        rows.append([
            str(sev), f"{lik_in} → {lik_res}",
            f"{sev * lik_in} {band_of(sev * lik_in, bands)} → "
            f"{sev * lik_res} {band_of(sev * lik_res, bands)}", str(n)])
    total = len(assessment.flows)
    moved = sum(n for (_, a, b), n in moves.items() if a != b)
    top = Counter(band_of(f.residual_risk, bands) for f in assessment.flows)
    top_text = ", ".join(f"{top[b.label]} {b.label}" for b in
                         sorted(bands, key=lambda b: -b.min) if top[b.label])
    alt = (f"Risk map of {total} data flows on a four by four grid, severity up, likelihood "
           f"across. Controls in place today lower the likelihood of {moved} of them. "
           f"Today: {top_text or 'no flows'}.")
    png = _png(fig)
    texts, smallest = _drawn(fig, width)
    return Chart(
        title="Risk map", png=png, alt=alt, texts=texts, min_print_pt=smallest,
        caption=("Each filled circle counts the data flows at that severity and likelihood "
                 "today; dashed circles show where they would be with no controls, and "
                 "arrows show the movement. Cell shading and pattern give the risk band."),
        table_head=["Severity", "Likelihood (no controls → today)", "Risk (score and band)",
                    "Flows"],
        table_rows=rows, width_in=width)


def system_risk(assessment: Assessment, bands: list[RiskBand] | None = None) -> Chart:
    """Horizontal bars per system: risk without controls, today, and after the action plan.

    Long names wrap onto more lines instead of being cut; with ``bands`` a labeled line
    marks where each band above the lowest begins, so the lines mean what the bands mean.
    """
    systems = sorted(assessment.systems, key=lambda s: (s.rank, s.system_id))
    names = [mpl_text(wrap_label(s.name)) for s in systems]
    lines = sum(max(n.count("\n") + 1, 1) for n in names)
    width = 6.5
    height = 1.1 + 0.11 * lines + 0.15 * max(len(systems), 1)
    fig = _new_figure(width, height)
    ax = fig.add_subplot()
    series = [
        ("Without controls", [s.inherent_risk for s in systems], "#d9d9d9", "//"),
        ("Today", [s.residual_risk for s in systems], "#1f2d3d", ""),
        ("After the action plan", [s.planned_risk for s in systems], "#8fa8c8", ".."),
    ]
    bar = 0.27
    for i, (label, values, colour, hatch) in enumerate(series):
        ys = [n + (i - 1) * bar for n in range(len(systems))]
        ax.barh(ys, values, height=bar, color=colour, hatch=hatch, edgecolor="#333333",
                linewidth=0.6, label=label)
    ax.set_yticks(range(len(systems)), names, fontsize=8, family=FONT)
    ax.invert_yaxis()
    ax.set_xlim(0, 16.5)
    ax.set_xticks([0, 4, 8, 12, 16], ["0", "4", "8", "12", "16"], fontsize=8, family=FONT)
    ax.set_xlabel("Highest risk score among the system's data flows (1–16)", fontsize=8.5,
                  family=FONT)
    above_lowest = sorted(bands or [], key=lambda b: b.min)[1:]
    for band in above_lowest:
        ax.axvline(band.min, color="#555555", linewidth=0.7, linestyle=":")
        ax.text(band.min, 1.005, f"{band.label}\nfrom {band.min}",
                transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=8,
                family=FONT, color="#333333", linespacing=1.0)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=3,
               frameon=False, prop={"family": FONT, "size": 8})
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    rows = [[s.name, str(s.inherent_risk), str(s.residual_risk), str(s.planned_risk),
             s.residual_band] for s in systems]
    worst = systems[0] if systems else None
    alt = (f"Bar chart of risk for {len(systems)} systems without controls, today and after "
           "the action plan. " + (f"Highest today: {worst.name}, {worst.residual_risk} of 16."
                                   if worst else ""))
    thresholds = ", ".join(f"{b.label} from {b.min}" for b in above_lowest)
    png = _png(fig)
    texts, smallest = _drawn(fig, width)
    return Chart(
        title="Risk by system", png=png, alt=alt, width_in=width, texts=texts,
        min_print_pt=smallest,
        caption=("For each system: its highest risk with no controls (hatched light bar), "
                 "today (dark bar) and once the planned actions are done (dotted bar)."
                 + (f" Dotted lines mark where the bands begin: {thresholds}."
                    if thresholds else "")),
        table_head=["System", "Without controls", "Today", "After the action plan",
                    "Band today"],
        table_rows=rows)


def trend_bands(runs: list[tuple[str, dict[str, int]]], bands: list[RiskBand]) -> Chart:
    """Stacked bars: the register's risks by band at each assessment, oldest first.

    ``runs`` holds (date as the reader sees it, band label → count); fills and hatches come
    from scales.yaml's bands, and the legend names each band, so color is never the only cue.
    """
    styles = band_styles(bands)
    order = [b.label for b in sorted(bands, key=lambda b: -b.min)]
    width = 6.5
    fig = _new_figure(width, 2.6)
    ax = fig.add_subplot()
    labels = [mpl_text(wrap_label(d, 14, 2)) for d, _ in runs]
    bottom = [0] * len(runs)
    for label in order:
        values = [counts.get(label, 0) for _, counts in runs]
        style = styles[label]
        ax.bar(range(len(runs)), values, bottom=bottom, width=0.55, color=style["face"],
               hatch=style["hatch"], edgecolor=style["edge"], linewidth=0.6, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in enumerate(bottom):
        ax.text(x, total, str(total), ha="center", va="bottom", fontsize=8, family=FONT)
    ax.set_xticks(range(len(runs)), labels, fontsize=8, family=FONT)
    ax.set_ylim(0, max([*bottom, 1]) * 1.15)
    ax.set_ylabel("Risks in the register", fontsize=8.5, family=FONT)
    ax.tick_params(axis="y", labelsize=8)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center", frameon=False,
               prop={"family": FONT, "size": 8})
    rows = [[d, *(str(counts.get(label, 0)) for label in order), str(sum(
        counts.get(label, 0) for label in order))] for d, counts in runs]
    first, last = runs[0], runs[-1]
    alt = (f"Stacked bar chart of the risks in the register by band at {len(runs)} "
           f"assessments, from {first[0]} ({sum(first[1].values())} risks) to {last[0]} "
           f"({sum(last[1].values())} risks).")
    png = _png(fig)
    texts, smallest = _drawn(fig, width)
    return Chart(
        title="Risks by band at each assessment", png=png, alt=alt, width_in=width,
        texts=texts, min_print_pt=smallest,
        caption="Each bar is one assessment, oldest on the left; its parts are the risks in "
                "each band, highest band at the bottom.",
        table_head=["Assessment", *order, "Total"], table_rows=rows)
