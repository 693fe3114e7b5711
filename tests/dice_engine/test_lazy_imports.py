"""``import dice_engine`` stays light: every module loads on first use of its names (PEP 562), so the
numpy-only first table imports no torch and the live engine no scipy, and every public name still
resolves to the same object (docs/architecture.md §10)."""

import importlib
import subprocess
import sys
import textwrap

import dice_engine

LAZY_MODULES = {
    "confusion_matrix": "confusion",
    "shutdown_workers": "confusion",
    "slice_counts": "per_slice",
    "DeviceFallbackWarning": "device",
    "device_name": "device",
    "select_device": "device",
    "UnclassifiedInstance": "instance_classes",
    "LiveDice": "live",
    "dice_loss": "loss",
    "hard_dice_loss": "loss",
    "ClassMetrics": "matrix_scores",
    "average_dice": "metrics",
    "class_metrics": "metrics",
    "dice_from_confusion": "metrics",
    "dice_from_counts": "metrics",
    "dice_score": "metrics",
    "LiveSoftDice": "soft",
    "SoftDiceResult": "soft",
    "ClassProbabilities": "soft_probabilities",
    "ClassHistograms": "soft_threshold",
    "DiceCurve": "soft_threshold",
    "ThresholdConfusion": "soft_threshold",
    "SurfaceDistanceState": "distance_state",
    "SURFACE_DISTANCE_CONVENTIONS": "distances",
    "SurfaceDistanceResult": "distances",
    "surface_distances": "distances",
    "LiveObjects": "live_objects",
    "ClassObjects": "objects",
    "ObjectScores": "objects",
    "SegmentObject": "objects",
    "instance_scores": "objects",
    "object_scores": "objects",
}


def run_python(code: str) -> str:
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_the_live_engine_loads_no_scipy_spatial_or_ndimage_and_distances_load_on_first_use():
    output = run_python("""
        import sys
        import dice_engine
        dice_engine.LiveDice
        dice_engine.confusion_matrix
        print(sorted(name for name in ("scipy.spatial", "scipy.ndimage") if name in sys.modules))
        import numpy as np
        gt = np.zeros((1, 4, 4), np.uint8); gt[0, 1:3, 1:3] = 1
        result = dice_engine.surface_distances(target=gt, preds=gt, spacing=(1.0, 1.0, 1.0))
        print("scipy.spatial" in sys.modules, type(result).__name__)
    """)
    assert output.splitlines() == ["[]", "True SurfaceDistanceResult"]


def test_every_public_name_resolves_to_the_object_of_its_defining_module():
    for name in dice_engine.__all__:
        value = getattr(dice_engine, name)
        if name in LAZY_MODULES:
            module = importlib.import_module(f"dice_engine.{LAZY_MODULES[name]}")
            assert value is getattr(module, name), name
    assert set(LAZY_MODULES) == set(dice_engine.__all__)


def test_import_dice_engine_loads_no_torch_and_a_submodule_s_name_still_gives_the_submodule():
    output = run_python("""
        import sys
        import dice_engine
        print("torch" in sys.modules, dice_engine.soft.__name__, "torch" in sys.modules)
    """)
    assert output == "False dice_engine.soft True"


def test_dir_lists_every_public_name_before_its_first_use():
    output = run_python("""
        import dice_engine
        names = dir(dice_engine)
        print(all(name in names for name in dice_engine.__all__), "LiveObjects" in vars(dice_engine))
    """)
    assert output == "True False"


def test_an_unknown_name_raises_attribute_error():
    try:
        dice_engine.no_such_metric  # noqa: B018
    except AttributeError as error:
        assert "no_such_metric" in str(error)
    else:
        raise AssertionError("dice_engine.no_such_metric resolved")
