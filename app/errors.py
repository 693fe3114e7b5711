"""User-facing errors.

An :class:`InputError` carries a message written for the person running DiceLens: which file,
what is wrong with it, and what to do instead. The command line prints it (no traceback, exit 2)
and the GUI shows it in a dialog; neither ever shows the Python traceback unless asked to.
"""


class InputError(ValueError):
    """Bad user input (a file, an argument, a combination of them), explained in plain words."""
