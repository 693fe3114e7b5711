"""What a tool is: one Qt-free operation plus one description (docs/architecture.md §3).

A :class:`ToolSpec` describes a tool once — name, menu text, key, icon, cursor, the mouse gesture
that drives it and the parameters it reads — and the window builds its toolbar button, its line in
Help → Keyboard shortcuts and its mouse handling from that description alone. The operation
(``ToolSpec.operation``) is a plain function of a :class:`ToolInput` returning a
:class:`ToolChange`: which voxels get which label. The edit session applies the change as one undo
step (journal, listeners, protections), so a new tool touches one module and the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from app.model.brush import Footprint

GESTURES = ("none", "stroke", "click", "lasso")
"""``none``: no editing (navigate); ``stroke``: press-drag-release paints (brush, eraser); ``click``: one
click runs the operation at the clicked point; ``lasso``: press, drag an outline, release runs it."""
CURSORS = ("none", "brush", "eraser", "cross")
"""What the view draws under the mouse: nothing, the brush outline, the eraser outline, a cross cursor."""


@dataclass(frozen=True)
class ParameterSpec:
    """A number (or a choice) a tool reads from the toolbar.

    Attributes
    ----------
    name : str
        Key in :attr:`ToolInput.params`.
    text : str
        Toolbar label.
    tip : str
        Tooltip.
    default : float
        Initial value (for a choice: the index of the default choice).
    minimum, maximum, step : float
        Range and step of the spin box (ignored for a choice).
    decimals : int
        Decimals shown.
    unit : str
        ``"mm"``, ``"voxels"``, ``"intensity"``, ``"×σ"`` or ``""`` (the toolbar shows it as the suffix;
        ``"mm"`` becomes ``"px"`` on images without a pixel size).
    off_text : str
        Shown at the minimum when the minimum means "off" (e.g. a tolerance of 0), else ``""``.
    choices : tuple of str
        Non-empty for a choice parameter: its value is the index of the choice.
    """

    name: str
    text: str
    tip: str
    default: float
    minimum: float = 0.0
    maximum: float = 1.0
    step: float = 1.0
    decimals: int = 0
    unit: str = ""
    off_text: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolInput:
    """Everything an operation may read: the edited mask, the image, the click and the parameters.

    Attributes
    ----------
    labels : np.ndarray
        ``(z, y, x)`` integer label map being edited (read only: operations never write it).
    image : np.ndarray or None
        ``(z, y, x)`` scalar intensities of the case, None when it has none (or it is RGB).
    spacing_zyx : tuple of 3 float
        Voxel spacing in mm.
    label : int
        The active label (what painting tools write; what label tools act on).
    axis : int
        Axis of the slice shown (0, 1 or 2).
    points : np.ndarray
        ``(N, 3) float64`` continuous ``(z, y, x)`` index points: one for a click, the outline for a lasso.
    params : Mapping of str to float
        The values of the tool's :class:`ParameterSpec` by name.
    intensity_range : tuple of 2 float or None
        The editable intensity range ``[low, high]`` set in the toolbar (None: not set).
    """

    labels: np.ndarray
    image: np.ndarray | None
    spacing_zyx: tuple[float, float, float]
    label: int
    axis: int
    points: np.ndarray
    params: Mapping[str, float]
    intensity_range: tuple[float, float] | None = None

    @property
    def point(self) -> np.ndarray:
        """The (first) point ``(3,) float64``."""
        return self.points[0]

    @property
    def voxel(self) -> tuple[int, int, int] | None:
        """The ``(z, y, x)`` index of the voxel holding :attr:`point` (nearest centre); None outside."""
        index = tuple(int(np.floor(v + 0.5)) for v in self.point)
        inside = all(0 <= i < s for i, s in zip(index, self.labels.shape, strict=True))
        return (index[0], index[1], index[2]) if inside else None


@dataclass(frozen=True)
class ToolChange:
    """What an operation asks the edit session to write: ``label`` on ``footprint`` (one undo step).

    Attributes
    ----------
    footprint : Footprint
        The voxels to write (bounding box and ``bool`` mask).
    label : int
        The label written there (0 = background: removing).
    description : str
        For the undo list, the journal and the report: ``"<what> <label concerned>"``, e.g.
        ``"margin +5 mm 3"``; the last word is the label the tool acted on.
    axis : int
        The slice axis the tool was used on.
    intensity_limited : bool
        Whether the session's editable intensity range also limits the write (brush, fill, lasso).
    ask_above : int or None
        Ask the user before writing more voxels than this (flood fill: a quarter of the slice).
    """

    footprint: Footprint
    label: int
    description: str
    axis: int = 0
    intensity_limited: bool = False
    ask_above: int | None = None


Operation = Callable[[ToolInput], "ToolChange | None"]


@dataclass(frozen=True)
class ToolSpec:
    """One tool, described once (see the module docstring).

    Attributes
    ----------
    name : str
        Identifier (``"brush"``).
    text : str
        Toolbar/menu text with its ``&`` mnemonic.
    key : str
        Keyboard shortcut (a ``QKeySequence`` string).
    tip : str
        Tooltip: what a click or drag does.
    icon : str
        Freedesktop icon-theme name (shown where the theme has it).
    gesture : str
        One of :data:`GESTURES`.
    cursor : str
        One of :data:`CURSORS`.
    mouse_help : str
        What the gesture does, for Help → Keyboard shortcuts ("" for none).
    parameters : tuple of ParameterSpec
        What the toolbar shows while the tool is chosen.
    operation : callable or None
        ``ToolInput -> ToolChange | None`` for click and lasso tools; None for navigate and the
        stroke tools (which paint through ``EditSession.begin_stroke``).
    erases : bool
        A stroke tool that writes background.
    uses_intensity_range : bool
        Whether the editable intensity range applies (the toolbar shows it, Shift+click picks it).
    needs_image : bool
        Only usable on a case with a scalar image.
    previews : bool
        A click shows the change first; Apply (Return) writes it, Escape drops it.
    """

    name: str
    text: str
    key: str
    tip: str
    icon: str
    gesture: str
    cursor: str
    mouse_help: str = ""
    parameters: tuple[ParameterSpec, ...] = ()
    operation: Operation | None = None
    erases: bool = False
    uses_intensity_range: bool = False
    needs_image: bool = False
    previews: bool = False

    def __post_init__(self) -> None:
        if self.gesture not in GESTURES or self.cursor not in CURSORS:
            raise ValueError(f"tool {self.name!r}: gesture {self.gesture!r} / cursor {self.cursor!r} unknown")
        if (self.operation is None) != (self.gesture in ("none", "stroke")):
            raise ValueError(f"tool {self.name!r}: click and lasso tools need an operation, others none")

    def defaults(self) -> dict[str, float]:
        """The default value of every parameter, by name."""
        return {parameter.name: parameter.default for parameter in self.parameters}
