"""The disruption timeline of one hop as inline SVG: one lane per probe, red where it failed."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH, LANE, LABEL = 640, 22, 130


def timeline_svg(timelines: list[dict[str, Any]], seconds: float) -> str:
    """SVG markup for a hop's probe timelines (``Timeline.to_json`` dicts)."""
    if not timelines:
        return ""
    span = max(seconds, max((a[0] for t in timelines for a in t.get("attempts", [])), default=0.0), 1.0)
    scale = (WIDTH - LABEL - 30) / span
    height = LANE * len(timelines) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="probe timeline">'
    ]
    for lane, timeline in enumerate(timelines):
        y = lane * LANE + 4
        name = escape(str(timeline.get("name", "probe")))
        availability = float(timeline.get("availability", 1.0))
        parts.append(f'<text x="0" y="{y + 13}" class="lane">{name} {availability:.0%}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y}" width="{span * scale:.1f}" height="16" class="ok"/>')
        for start, end in timeline.get("outages", []):
            width = max((end - start) * scale, 2.0)
            parts.append(
                f'<rect x="{LABEL + start * scale:.1f}" y="{y}" width="{width:.1f}" height="16" class="down">'
                f"<title>{name}: down {start:.1f}s to {end:.1f}s</title></rect>"
            )
    axis_y = LANE * len(timelines) + 16
    for tick in range(0, int(span) + 1, max(1, int(span // 8) or 1)):
        x = LABEL + tick * scale
        parts.append(f'<text x="{x:.1f}" y="{axis_y}" class="tick">{tick}s</text>')
    parts.append("</svg>")
    return "".join(parts)
