"""Endpoint plots drawn once with reportlab.graphics: SVG for pages, the same Drawing in PDFs."""

from __future__ import annotations

from django.utils.translation import gettext
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.renderSVG import drawToString
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from study import protocol

WIDTH, HEIGHT = 320, 170
PALETTE = (
    "#0d6efd",
    "#dc3545",
    "#198754",
    "#fd7e14",
    "#6f42c1",
    "#20c997",
    "#6c757d",
    "#d63384",
    "#0dcaf0",
    "#ffc107",
)

Points = list[tuple[int, float]]


def endpoint_drawing(points: Points, *, title: str, unit: str) -> Drawing:
    """A line plot of one endpoint against study day, with the dosing days marked."""
    return series_drawing([("", points)], title=title, unit=unit)


def series_drawing(
    series: list[tuple[str, Points]],
    *,
    title: str,
    unit: str,
    width: int = WIDTH,
    height: int = HEIGHT,
    font: str = "Helvetica",
    bold_font: str = "Helvetica-Bold",
) -> Drawing:
    """One line per series (e.g. per participant) against study day, dosing days marked.

    `font` and `bold_font` name the fonts of every text: a PDF in Chinese passes a CJK font.
    """
    series = [(label, sorted(points)) for label, points in series if points]
    drawing = Drawing(width, height, initialFontName=font)
    heading = f"{title} ({unit})" if unit else title
    drawing.add(String(8, height - 14, heading, fontName=bold_font, fontSize=9))
    if not series:
        drawing.add(String(8, height / 2, "-", fontName=font, fontSize=9))
        return drawing
    # A legend names up to 10 lines (the trial's size); beyond that the lines speak for the group.
    legend = 70 if 1 < len(series) <= len(PALETTE) else 0
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 28, width - 56 - legend, height - 56
    plot.data = [points for _label, points in series]
    for index, (label, _points) in enumerate(series):
        color = colors.HexColor(PALETTE[index % len(PALETTE)])
        plot.lines[index].strokeColor = color
        plot.lines[index].strokeWidth = 1.5
        plot.lines[index].symbol = makeMarker("FilledCircle", size=4)
        plot.lines[index].symbol.fillColor = color
        if legend:
            y = height - 34 - 11 * index
            x = width - legend + 4
            drawing.add(Line(x, y + 3, x + 10, y + 3, strokeColor=color, strokeWidth=2))
            drawing.add(String(x + 13, y, label, fontName=font, fontSize=7))
    xs = [x for _label, points in series for x, _y in points]
    ys = [y for _label, points in series for _x, y in points]
    plot.xValueAxis.valueMin = min(min(xs), 1) - 2
    plot.xValueAxis.valueMax = max(max(xs), protocol.DOSING_DAYS) + 2
    low, high = min(ys), max(ys)
    pad = (high - low) * 0.15 or max(abs(high) * 0.1, 1)
    plot.yValueAxis.valueMin = max(0, low - pad)
    plot.yValueAxis.valueMax = high + pad
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = font
        axis.labels.fontSize = 7
    drawing.add(plot)
    x_min, x_max = plot.xValueAxis.valueMin, plot.xValueAxis.valueMax

    def to_x(day: float) -> float:
        return plot.x + (day - x_min) / (x_max - x_min) * plot.width

    # The 14 dosing days, as a band above the x axis.
    band = colors.HexColor("#6ea8fe")
    drawing.add(
        Line(
            to_x(1),
            plot.y + 2,
            to_x(protocol.DOSING_DAYS),
            plot.y + 2,
            strokeColor=band,
            strokeWidth=4,
        )
    )
    drawing.add(
        String(plot.x + plot.width - 30, 4, gettext("study day"), fontName=font, fontSize=7)
    )
    return drawing


def endpoint_svg(points: Points, *, title: str, unit: str) -> str:
    return drawToString(endpoint_drawing(points, title=title, unit=unit))
