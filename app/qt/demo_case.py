"""Where the bundled demo case lives (resources/demo, described in its SOURCE.md)."""

from __future__ import annotations

from app.errors import InputError
from resources import DEMO_DIRECTORY

_DEMO_FILES = {"image": "image.nii.gz", "gt": "gt.nii.gz", "pred": "pred.nii.gz", "labels": "labels.txt"}


def demo_case_paths() -> dict[str, str]:
    """``image``, ``gt``, ``pred``, ``labels`` -> path of the demo case's files.

    Raises
    ------
    InputError
        When the demo files are not where DiceLens was installed from (e.g. a wheel without them).
    """
    paths = {role: DEMO_DIRECTORY / name for role, name in _DEMO_FILES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise InputError(f"the bundled demo case is missing ({', '.join(missing)}); open your own case "
                         "with `dicelens view --gt GT --pred PRED`, or reinstall DiceLens from its source tree.")
    return {role: str(path) for role, path in paths.items()}
