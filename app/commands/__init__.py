"""The ``dicelens`` sub-commands, one module each (see :mod:`app.cli`)."""
