"""The numpy-only confusion matrix (the window's first table before torch): scikit-learn, a brute-force
double loop and the torch engine agree with it exactly; bad labels are refused; neither it nor the scores
of its matrix import torch (docs/architecture.md §10)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

import dice_engine as de
from dice_engine import numpy_confusion
from dice_engine.matrix_scores import average_dice_of_matrix, class_metrics_of_matrix, hard_dice_loss_of_matrix
from dice_engine.numpy_confusion import numpy_confusion_matrix

from .conftest import INT_DTYPES
from .conftest import numpy_confusion as brute_force_confusion


def test_seed_003_worked_example_rows_are_ground_truth():
    # seed 003: true [1,1,0,1,0,0], predicted [1,0,0,1,0,1] -> [[2, 1], [1, 2]]
    matrix = numpy_confusion_matrix(target=np.array([1, 1, 0, 1, 0, 0]), preds=np.array([1, 0, 0, 1, 0, 1]),
                                    num_classes=2)
    assert matrix.dtype == np.int64 and matrix.tolist() == [[2, 1], [1, 2]]


@pytest.mark.parametrize("dtype", [*INT_DTYPES, np.bool_])
@pytest.mark.parametrize("shape", [(97,), (13, 17), (5, 9, 11)])
def test_matches_sklearn_for_every_int_dtype_and_dimension(rng, dtype, shape):
    num_classes = 2 if dtype == np.bool_ else 6
    target = rng.integers(0, num_classes, shape).astype(dtype)
    preds = rng.integers(0, num_classes, shape).astype(dtype)
    expected = sk_confusion_matrix(target.ravel(), preds.ravel(), labels=range(num_classes))
    assert np.array_equal(numpy_confusion_matrix(target=target, preds=preds, num_classes=num_classes), expected)


@pytest.mark.parametrize("num_classes", [3, 16, 17, 300])   # index in uint8, uint8, uint16, intp
@pytest.mark.parametrize("ignore_index", [None, 0, 2, 1000])
def test_a_mostly_background_volume_in_several_chunks_equals_the_brute_force_count(monkeypatch, rng, num_classes,
                                                                                  ignore_index):
    monkeypatch.setattr(numpy_confusion, "CHUNK_VOXELS", 3 * numpy_confusion.BACKGROUND_RUN + 5)   # ragged chunks
    shape = (7, 40, 53)   # runs straddle rows and chunks
    target = np.zeros(shape, np.int32)
    preds = np.zeros(shape, np.int32)
    target[2:5, 10:30, 5:40] = rng.integers(0, num_classes, (3, 20, 35))
    preds[3:6, 12:32, 0:30] = rng.integers(0, num_classes, (3, 20, 30))
    if ignore_index is not None:
        target[1, :5, :] = ignore_index
    expected = brute_force_confusion(target, preds, num_classes, ignore_index)
    assert np.array_equal(numpy_confusion_matrix(target=target, preds=preds, num_classes=num_classes,
                                                 ignore_index=ignore_index), expected)


def test_equals_the_torch_engine_on_a_ct_like_case_with_and_without_ignore_index():
    from bench._synthetic import ct_like_pair

    gt, pred = ct_like_pair((20, 96, 96), 14)
    for ignore_index in (None, 0, 5):
        expected = de.confusion_matrix(target=gt, preds=pred, num_classes=14, ignore_index=ignore_index).numpy()
        assert np.array_equal(numpy_confusion_matrix(target=gt, preds=pred, num_classes=14,
                                                     ignore_index=ignore_index), expected)


@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_small_pair_equals_sklearn(data):
    num_classes = data.draw(st.integers(1, 20))
    size = data.draw(st.integers(0, 5000))
    labels = st.lists(st.integers(0, num_classes - 1), min_size=size, max_size=size)
    target, preds = np.array(data.draw(labels), np.uint16), np.array(data.draw(labels), np.uint16)
    background = data.draw(st.integers(0, size))   # long background runs, as in a CT
    target[:background] = 0
    preds[:background] = 0
    expected = sk_confusion_matrix(target, preds, labels=range(num_classes)) if size else np.zeros(
        (num_classes, num_classes), np.int64)
    assert np.array_equal(numpy_confusion_matrix(target=target, preds=preds, num_classes=num_classes), expected)


@pytest.mark.parametrize(("target", "preds", "message"), [
    (np.array([0, 1, 3]), np.array([0, 1, 1]), "target: label 3 is outside 0..2"),
    (np.array([0, 1, 1]), np.array([0, -1, 1]), "preds: label -1 is outside 0..2"),
    (np.array([0, 1]), np.array([0, 1, 1]), "same shape"),
    (np.array([0.0, 1.0]), np.array([0, 1]), "integer labels"),
])
def test_bad_labels_are_refused(target, preds, message):
    with pytest.raises(ValueError, match=message):
        numpy_confusion_matrix(target=target, preds=preds, num_classes=3)


def test_a_negative_label_inside_a_background_looking_run_is_refused():
    target = np.zeros(4 * numpy_confusion.BACKGROUND_RUN, np.int8)
    target[5] = -1   # the run's maximum is 0: only its minimum shows the bad label
    with pytest.raises(ValueError, match="label -1"):
        numpy_confusion_matrix(target=target, preds=np.zeros_like(target), num_classes=2)


def test_the_pair_is_keyword_only():
    with pytest.raises(TypeError):
        numpy_confusion_matrix(np.zeros(3, np.uint8), np.zeros(3, np.uint8), num_classes=2)  # type: ignore[misc]


def test_the_numpy_scores_of_a_matrix_equal_the_engine_s_functions(rng):
    for _ in range(20):
        matrix = rng.integers(0, 50, (5, 5))
        matrix[rng.integers(0, 5)] = 0   # a class absent from the ground truth
        for field, value in vars(class_metrics_of_matrix(matrix, 0.002)).items():
            np.testing.assert_array_equal(value, getattr(de.class_metrics(matrix, 0.002), field), err_msg=field)
        for average in ("macro", "micro", "weighted"):
            assert average_dice_of_matrix(matrix, average, False) == de.average_dice(matrix, average, False)
        assert hard_dice_loss_of_matrix(matrix, 1.0, False) == de.hard_dice_loss(matrix, 1.0, False)


def test_counting_and_scoring_in_numpy_import_no_torch():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import dice_engine
        from dice_engine.numpy_confusion import numpy_confusion_matrix
        from dice_engine.matrix_scores import class_metrics_of_matrix
        matrix = numpy_confusion_matrix(target=np.array([0, 1, 1]), preds=np.array([0, 1, 0]), num_classes=2)
        print(class_metrics_of_matrix(matrix).dice.tolist(), dice_engine.ClassMetrics.__name__,
              "torch" in sys.modules)
    """)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[0.6666666666666666, 0.6666666666666666] ClassMetrics False"
