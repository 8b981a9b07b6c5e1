"""Endpoint plots drawn once with reportlab.graphics: SVG for pages, the same Drawing in PDFs."""

from __future__ import annotations

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.renderSVG import drawToString
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from trialportal import protocol

WIDTH, HEIGHT = 320, 170


def endpoint_drawing(points: list[tuple[int, float]], *, title: str, unit: str) -> Drawing:
    """A line plot of one endpoint against study day, with the dosing days marked."""
    drawing = Drawing(WIDTH, HEIGHT)
    drawing.add(
        String(
            8,
            HEIGHT - 14,
            f"{title} ({unit})" if unit else title,
            fontName="Helvetica-Bold",
            fontSize=9,
        )
    )
    if not points:
        drawing.add(String(8, HEIGHT / 2, "-", fontName="Helvetica", fontSize=9))
        return drawing
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 28, WIDTH - 56, HEIGHT - 56
    plot.data = [points]
    plot.lines[0].strokeColor = colors.HexColor("#0d6efd")
    plot.lines[0].strokeWidth = 1.5
    plot.lines[0].symbol = makeMarker("FilledCircle", size=4)
    xs = [x for x, _y in points]
    ys = [y for _x, y in points]
    plot.xValueAxis.valueMin = min(min(xs), 1) - 2
    plot.xValueAxis.valueMax = max(max(xs), protocol.DOSING_DAYS) + 2
    low, high = min(ys), max(ys)
    pad = (high - low) * 0.15 or max(abs(high) * 0.1, 1)
    plot.yValueAxis.valueMin = max(0, low - pad)
    plot.yValueAxis.valueMax = high + pad
    for axis in (plot.xValueAxis, plot.yValueAxis):
        axis.labels.fontName = "Helvetica"
        axis.labels.fontSize = 7
    drawing.add(plot)
    # The 14 dosing days, as a band under the x axis.
    x_min, x_max = plot.xValueAxis.valueMin, plot.xValueAxis.valueMax

    def to_x(day):
        return plot.x + (day - x_min) / (x_max - x_min) * plot.width

    drawing.add(
        Line(
            to_x(1),
            plot.y + 2,
            to_x(protocol.DOSING_DAYS),
            plot.y + 2,
            strokeColor=colors.HexColor("#6ea8fe"),
            strokeWidth=4,
        )
    )
    drawing.add(String(WIDTH - 60, 4, "study day", fontName="Helvetica", fontSize=7))
    return drawing


def endpoint_svg(points, *, title: str, unit: str) -> str:
    return drawToString(endpoint_drawing(points, title=title, unit=unit))
