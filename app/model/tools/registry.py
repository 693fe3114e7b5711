"""The registered tools, in toolbar order: one :class:`~app.model.tools.spec.ToolSpec` each.

The toolbar, the Edit menu, Help → Keyboard shortcuts and the view's mouse handling are all built
from :data:`TOOL_SPECS`; adding a tool means writing its operation and one entry here.
"""

from __future__ import annotations

from app.model.tools.grow import grow_operation
from app.model.tools.label_tools import ISLAND_MODES, interpolate_operation, islands_operation, margin_operation
from app.model.tools.region_tools import fill_operation, lasso_operation, threshold_operation
from app.model.tools.spec import ParameterSpec, ToolSpec

BOX_MM = ParameterSpec("box_mm", "Box", "Half size of the 3D box around the click (mm); 0 = the clicked slice",
                       default=0.0, maximum=500.0, step=5.0, decimals=1, unit="mm", off_text="slice")
GROW_BOX_MM = ParameterSpec("box_mm", "Box", "Half size of the cube around the seed the region may grow in (mm)",
                            default=40.0, minimum=1.0, maximum=500.0, step=5.0, decimals=1, unit="mm")

TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("navigate", "&Navigate", "N", "No editing: left-drag pans", "transform-move", "none", "none"),
    ToolSpec("brush", "&Brush", "B", "Paint the active label (round brush)", "draw-brush", "stroke", "brush",
             "Brush / Eraser: paint, one drag = one undo step", uses_intensity_range=True),
    ToolSpec("eraser", "&Eraser", "X", "Paint background (label 0)", "draw-eraser", "stroke", "eraser",
             erases=True),
    ToolSpec("fill", "&Fill", "K", "Flood-fill the clicked connected region of the slice (asks before more "
             "than a quarter of it)", "color-fill", "click", "cross",
             "Fill: flood-fill the clicked region of the slice (within the intensity tolerance)",
             (ParameterSpec("tolerance", "Tolerance", "Fill only voxels whose intensity is within this of the "
                            "clicked voxel's (off: labels only)", default=0.0, maximum=1e6, step=10.0,
                            decimals=1, unit="intensity", off_text="off"),),
             fill_operation, uses_intensity_range=True),
    ToolSpec("polygon", "&Lasso", "L", "Polygon / lasso: drag an outline; release fills inside it",
             "draw-freehand", "lasso", "cross", "Lasso: draw an outline, release fills it",
             operation=lasso_operation, uses_intensity_range=True),
    ToolSpec("threshold", "&Threshold", "T", "Click: the active label where the intensity is in the range, "
             "in the slice or a 3D box", "color-picker", "click", "cross",
             "Threshold: fill the intensity range in the clicked slice or the box around the click",
             (BOX_MM,), threshold_operation, uses_intensity_range=True, needs_image=True),
    ToolSpec("grow", "&Grow", "R", "Grow from seed: click a seed, the region of alike intensity grows around it "
             "(preview); Return applies, Escape drops", "zoom-fit-best", "click", "cross",
             "Grow from seed: click a seed to preview, Return applies it",
             (ParameterSpec("multiplier", "Spread", "How many standard deviations from the region's mean "
                            "still join it", default=2.5, minimum=0.1, maximum=10.0, step=0.25, decimals=2,
                            unit="×σ"), GROW_BOX_MM),
             grow_operation, needs_image=True, previews=True),
    ToolSpec("interpolate", "&Interpolate", "I", "Click: fill the slices between slices painted with the "
             "active label (along the axis shown)", "distribute-vertical", "click", "cross",
             "Interpolate: click to fill the active label between its painted slices",
             operation=interpolate_operation),
    ToolSpec("islands", "Isl&ands", "Shift+I", "Click: keep the largest island of the active label, remove "
             "its islands under N voxels, or keep the clicked island", "edit-cut", "click", "cross",
             "Islands: click to apply the chosen island rule",
             (ParameterSpec("islands", "Islands", "Which islands to keep", default=0.0, choices=ISLAND_MODES),
              ParameterSpec("min_voxels", "Min", "Remove small: islands under this many voxels go",
                            default=100.0, minimum=1.0, maximum=1e9, step=10.0, unit="voxels")),
             islands_operation),
    ToolSpec("margin", "&Margin", "M", "Click: grow (+) or shrink (−) the active label by a distance",
             "zoom-in", "click", "cross", "Margin: click to grow or shrink the active label",
             (ParameterSpec("margin_mm", "Margin", "Grow (+) or shrink (−) by this distance", default=2.0,
                            minimum=-100.0, maximum=100.0, step=0.5, decimals=2, unit="mm"),),
             margin_operation),
)

TOOLS: tuple[str, ...] = tuple(spec.name for spec in TOOL_SPECS)
"""Tool names in toolbar order; ``navigate`` = no editing (left-drag pans)."""


def tool_spec(name: str) -> ToolSpec:
    """The registered tool ``name``; ValueError naming the tools when there is none."""
    for spec in TOOL_SPECS:
        if spec.name == name:
            return spec
    raise ValueError(f"tool must be one of {', '.join(TOOLS)}, got {name!r}")
