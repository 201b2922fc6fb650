"""Colours the screens share: status colours from the theme, and the chart series palette."""

from __future__ import annotations

from rich.style import Style

STATUS_COLOURS = {
    "InProgress": "accent",
    "Stopping": "warning",
    "Completed": "success",
    "Stopped": "warning",
    "Failed": "error",
}

# Chart series: six hues that stay apart in truecolor, in 256 colours and in the 16 ANSI
# colours of TERM=xterm (blue, yellow, green, red, magenta, cyan), whatever the theme.
SERIES_COLOURS = ((76, 141, 246), (230, 160, 0), (82, 185, 78), (232, 80, 74), (192, 107, 216), (63, 193, 201))
# With NO_COLOR every series is grey: a marker per series tells them apart instead.
SERIES_MARKERS = ("●", "x", "+", "◆", "o", "*")


def theme_styles(theme: dict[str, str]) -> dict[str, Style]:
    """Rich styles of the theme's colours, for table cells (no CSS reaches them)."""
    styles = {name: Style(color=theme[name]) for name in ("accent", "warning", "success", "error")}
    styles["best"] = Style(color=theme["success"], bold=True)
    return styles


def status_style(styles: dict[str, Style], status: str) -> Style | str:
    return styles.get(STATUS_COLOURS.get(status, ""), "")


def rgb_style(rgb: tuple[int, int, int]) -> Style:
    return Style(color=f"rgb({rgb[0]},{rgb[1]},{rgb[2]})")
