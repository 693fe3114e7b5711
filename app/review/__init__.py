"""Dataset review (``dicelens review``), Qt-free: the review folder, its database, the worklist's rows,
background scoring, corrected masks and the export. The window (``app.qt``) and the command build on it."""
