"""The prediction a model's output implies, and whether a given predicted mask agrees with it.

Without a predicted mask, DiceLens scores the model's own prediction: the argmax over the classes, or
for a single channel the foreground where ``p >= 0.5``. With both, the mask is checked against the
probabilities where they are decisive (the most probable class has ``p >= 0.9``): a mask exported
from other probabilities, or post-processed, differs there, and the user is told with counts.
The arithmetic is the engine's (:mod:`dice_engine.soft_probabilities`), imported only when model
output is given (torch takes seconds to import).
"""

from __future__ import annotations

import numpy as np

FOREGROUND_THRESHOLD = 0.5
DECISIVE_PROBABILITY = 0.9


def derived_prediction(scores: np.ndarray, kind: str, name: str,
                       argmax: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The model's hard prediction and a note saying how it was made.

    Parameters
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` checked class scores (:func:`app.io.model_output.read_model_output`).
    kind : {"probs", "logits"}
    name : str
        How the note names the file, e.g. ``"--probs 'case.npz'"``.
    argmax : np.ndarray, optional
        The argmax already derived in the checks' pass (:attr:`app.io.model_output.ModelOutput.prediction`):
        used as it is, the scores are not read again.

    Returns
    -------
    labels : np.ndarray
        ``(z, y, x)`` uint8 (int16 beyond 256 classes).
    note : str
    """
    from app.engine_import import import_engine

    import_engine()   # this may run on a lane's thread
    from dice_engine.soft_probabilities import ClassProbabilities, predict

    if argmax is not None:
        labels = argmax
    else:
        labels = predict(ClassProbabilities(scores, from_logits=kind == "logits"), FOREGROUND_THRESHOLD)
    how = (f"foreground where p >= {FOREGROUND_THRESHOLD:g}" if scores.shape[0] == 1
           else f"argmax over {scores.shape[0]} classes")
    return labels, f"no predicted mask given: the prediction is the model's own, from {name} ({how})"


def agreement_warning(scores: np.ndarray, kind: str, preds: np.ndarray, name: str, pred_name: str,
                      counts: tuple[int, int, int] | None = None) -> str | None:
    """A warning with counts when a predicted mask disagrees with the probabilities where they are decisive.

    Parameters
    ----------
    scores : np.ndarray
        ``(C, z, y, x)`` checked class scores.
    kind : {"probs", "logits"}
    preds : np.ndarray
        ``(z, y, x)`` integer labels of the predicted mask.
    name, pred_name : str
        How the warning names the scores' file and the mask.
    counts : tuple of 3 int, optional
        :func:`dice_engine.soft_probabilities.disagreement`'s counts when the checks' pass made them
        already (:attr:`app.io.model_output.ModelOutput.disagreement`): the scores are not read again.

    Returns
    -------
    str or None
        None when every decisive voxel agrees.
    """
    if counts is None:
        from app.engine_import import import_engine

        import_engine()   # this may run on a lane's thread
        from dice_engine.soft_probabilities import ClassProbabilities, disagreement

        probabilities = ClassProbabilities(scores, from_logits=kind == "logits")
        counts = disagreement(probabilities, preds, decisive=DECISIVE_PROBABILITY, threshold=FOREGROUND_THRESHOLD)
    decisive, differing_decisive, differing = counts
    if differing_decisive == 0:
        return None
    return (f"warning: {pred_name} disagrees with {name} at {differing_decisive:,} of {decisive:,} voxels where the "
            f"model is decisive (p >= {DECISIVE_PROBABILITY:g}), and at {differing:,} voxels in all; the soft scores "
            "describe the model's output, the hard scores the mask given. Check that both come from the same run.")
