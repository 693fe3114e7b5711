"""The worklist's narrow number columns still show their whole header ("Mean Dice", "Dice after", …)."""

from app.qt.worklist_dock import WorklistPanel
from app.qt.worklist_model import COLUMN_INDEX


def test_number_columns_are_at_least_as_wide_as_their_headers(qtbot):
    panel = WorklistPanel()
    qtbot.addWidget(panel)
    header = panel.table.horizontalHeader()
    for field in ("mean_dice", "dice_after", "worst_dice", "hd95", "grade", "seconds"):
        index = COLUMN_INDEX[field]
        assert panel.table.columnWidth(index) >= header.sectionSizeHint(index) > 0, field
