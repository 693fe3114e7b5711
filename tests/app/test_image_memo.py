"""app/image_memo.py: a value computed once per live image object, never kept past the image."""

import gc
import threading
import weakref

import numpy as np

from app.image_memo import per_image
from app.window_level import initial_window, is_ct, value_range


def counting(function):
    calls = []

    def counted(image):
        calls.append(threading.get_ident())
        return function(image)

    return per_image(counted), calls


def test_computed_once_per_image_object_and_again_for_another_object():
    spread, calls = counting(lambda image: float(image.max() - image.min()))
    image = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    assert spread(image) == 23.0 and spread(image) == 23.0
    assert len(calls) == 1
    twin = image.copy()   # equal contents, another object: computed for it
    assert spread(twin) == 23.0 and len(calls) == 2


def test_a_value_computed_on_another_thread_is_found_by_this_one():
    spread, calls = counting(lambda image: float(image.max()))
    image = np.ones((3, 3), np.uint8)
    worker = threading.Thread(target=spread, args=(image,))
    worker.start()
    worker.join()
    assert spread(image) == 1.0 and calls == [worker.ident]


def test_the_memo_does_not_keep_the_image_alive_nor_answer_for_a_dead_one():
    spread, calls = counting(lambda image: float(image.sum()))
    image = np.full((4, 4), 2.0)
    assert spread(image) == 32.0
    alive = weakref.ref(image)
    del image
    gc.collect()
    assert alive() is None   # the memo held no reference to it
    for _ in range(50):   # a new array may get the dead one's id: it is computed afresh, never answered from the memo
        fresh = np.full((4, 4), 3.0)
        assert spread(fresh) == 48.0
        del fresh
    assert len(calls) == 51


def test_window_level_answers_are_those_of_the_computation():
    ct = np.full((4, 8, 8), -1000, np.int16)
    ct[1:3, 2:6, 2:6] = 40
    assert initial_window(ct) == initial_window(ct.copy())
    assert is_ct(ct) and initial_window(ct).level == 40.0
    mr = np.linspace(0, 500, 4 * 8 * 8).reshape(4, 8, 8)
    assert value_range(mr) == value_range(mr.copy()) == 500.0
