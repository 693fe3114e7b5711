"""Every SimpleITK header read holds the process-wide header lock (app/io/header_reads.py): two header
reads at once in different threads aborted the process inside SimpleITK."""

import threading

import numpy as np
import SimpleITK as sitk

from app.io import load_case
from app.io.header_reads import header_lock_held


def test_every_header_read_of_a_case_holds_the_lock_and_parallel_reads_still_agree(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    paths = {}
    for role in ("image", "gt", "pred"):
        array = rng.integers(0, 3, (4, 9, 11)).astype(np.int16 if role == "image" else np.uint8)
        paths[role] = str(tmp_path / f"{role}.nii.gz")
        sitk.WriteImage(sitk.GetImageFromArray(array), paths[role])

    held = []
    original = sitk.ImageFileReader.ReadImageInformation

    def watched(reader):
        held.append(header_lock_held())
        return original(reader)

    monkeypatch.setattr(sitk.ImageFileReader, "ReadImageInformation", watched)
    first = load_case(paths["gt"], paths["pred"], image=paths["image"])
    assert len(held) >= 3 and all(held)

    cases, errors = [], []

    def read() -> None:
        try:
            cases.append(load_case(paths["gt"], paths["pred"], image=paths["image"]))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(cases) == 6 and all(held)
    for case in cases:
        assert np.array_equal(case.gt, first.gt) and np.array_equal(case.pred, first.pred)
