"""Qt-free model of the case under review: masks, edits, undo history, crash journal.

Modules (imported directly, so that using the geometry does not load SimpleITK):

- :mod:`app.model.case_editor` — :class:`~app.model.case_editor.CaseEditor`: a loaded case opened
  for editing (journal, crash recovery, save / save as).
- :mod:`app.model.edit_session` — :class:`~app.model.edit_session.EditSession`: tools (brush,
  eraser, flood fill, polygon, label picker), undo/redo, modified flags, listener lists.
- :mod:`app.model.delta` — :class:`~app.model.delta.Delta` (what listeners receive) and
  :class:`~app.model.delta.Listeners`.
- :mod:`app.model.brush`, :mod:`app.model.fill` — tool geometry.
- :mod:`app.model.history` — undo steps as changed voxels within a memory budget.
- :mod:`app.model.journal` — the append-only, checksummed, fsync'ed edit journal.
"""
