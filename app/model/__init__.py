"""Qt-free model of the case under review: masks, edits, undo history."""
