"""``dicelens view --table OUT.json``: the numbers the window's Dice table shows, as JSON.

One object per class row (the table's raw values, before formatting: what its cells show and sort by)
and the headline values above the table, with the soft columns and the headline soft loss when the
case has model output. The keys are those of ``dicelens score --json`` (``classes`` entries, ``dice_mean_foreground``,
``dice_loss``; distances as with ``score --distances``, soft figures as in its ``soft`` record), so a
test or a reader can check that the window and ``score`` agree. Written atomically.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from app.errors import InputError
from app.qt.soft_columns import SOFT_COLUMNS
from app.qt.table_model import COLUMNS, FIRST_VALUE_COLUMN, SORT_ROLE

DISTANCE_KEYS = {"hausdorff95": "hausdorff95_mm", "assd": "assd_mm"}
"""Table distance field -> the key ``score --json`` uses."""
SOFT_KEYS = {"soft_dice": "soft_dice", "soft_loss": "soft_dice_loss"}
"""Soft column field -> the key of ``score --json``'s ``soft.classes`` entries."""


def _number(value):
    """JSON-ready: None for NaN / missing, ints stay ints."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def table_document(window) -> dict:
    """The Dice table of ``window`` (:class:`app.qt.main_window.MainWindow`) as a JSON-ready dict.

    Returns
    -------
    dict
        ``{"classes": [{"index", "name", "dice", "iou", "gt_volume_ml", "pred_volume_ml",
        "volume_difference_ml", "fp", "fn", "hausdorff95_mm", "assd_mm"[, "soft_dice", "soft_dice_loss"]}],
        "dice_mean_foreground", "n_undefined_foreground", "dice_loss": {"hard", "smooth"[, "soft", "soft_from"]},
        "distances_mean_foreground": {"hausdorff95_mm", "assd_mm", "n_undefined"} or None, "soft": {...} or None}``;
        undefined values are None.
    """
    panel = window.dice_table
    model = panel.model
    soft_proxy = window.soft_columns.proxy
    rows = []
    for row in range(model.rowCount()):
        entry = {"index": row, "name": model.index(row, 1).data()}
        for number, column in enumerate(COLUMNS[FIRST_VALUE_COLUMN:], start=FIRST_VALUE_COLUMN):
            key = DISTANCE_KEYS.get(column.field, column.field)
            entry[key] = _number(model.index(row, number).data(SORT_ROLE))
        if soft_proxy.shown:
            for _, field, _ in SOFT_COLUMNS:
                entry[SOFT_KEYS[field]] = soft_proxy.value(row, field)
        rows.append(entry)
    result = window.controller.last_result
    document = {
        "classes": rows,
        "dice_mean_foreground": _number(result.dice_mean_foreground) if result is not None else None,
        "n_undefined_foreground": result.n_undefined_foreground if result is not None else None,
        "dice_loss": {"hard": _number(result.dice_loss_hard) if result is not None else None, "smooth": 1.0},
        "distances_mean_foreground": None,
        "soft": None,
    }
    distances = window.controller.distances.last_update
    if distances is not None and distances.result is not None:
        means = distances.result.foreground_means()
        document["distances_mean_foreground"] = {"hausdorff95_mm": _number(means["hausdorff95_mm"]),
                                      "assd_mm": _number(means["assd_mm"]), "n_undefined": means["n_undefined"]}
    soft = window.soft_metrics.last_update
    if soft is not None and soft.result is not None:
        loss = _number(float(soft.result.loss_mean))
        document["dice_loss"].update({"soft": loss, "soft_from": soft.source})
        document["soft"] = {"smooth": soft.result.smooth, "source": soft.source,
                            "soft_dice_loss_mean_foreground": loss,
                            "prediction_edited": soft.prediction_edited}
    return document


def write_table(window, path: Path) -> None:
    """Write :func:`table_document` of ``window`` to ``path`` as JSON, atomically (hidden temporary file,
    fsync, rename)."""
    target = Path(path).expanduser().resolve()
    text = json.dumps(table_document(window), indent=2, ensure_ascii=False) + "\n"
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise InputError(f"could not write the table '{path}': {error.strerror or error}.") from None
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
