"""A review folder ``R``: the dataset's pairing, the review database, scores and corrected masks.

Layout of ``R`` (everything a review writes; the inputs are never written):

- ``R/review.sqlite``: verdicts, claims, time spent (:mod:`app.review.store`);
- ``R/cases/<case>.json``: each case's scores, the per-case result format of ``dicelens batch``,
  so ``batch --resume --out R`` and ``review R`` reuse each other's work;
- ``R/corrected/<case><ending>``: a corrected prediction, ``R/corrected/ground-truth/<case><ending>``:
  a corrected ground truth, each with the ending (format) of the file it corrects: a DICOM SEG is
  corrected as a new DICOM SEG (``.dcm``) of the same series; sources DiceLens cannot write as masks
  (RTSTRUCT, DICOM image series and files, JPEG) are corrected as ``.nii.gz`` with the source's
  geometry, and the window's title says so.

The dataset is paired exactly as ``dicelens batch`` pairs it (:func:`app.batch.pairing.pair_cases`,
same rules and messages) every time the folder is opened, so files added to the input folders
since appear as new cases.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from app.batch.pairing import CaseFiles, Pairing, pair_cases
from app.batch.worker import CASES_FOLDER, REPORTS_FOLDER, case_result_path, load_case_result
from app.errors import InputError
from app.output_paths import check_output_folder
from app.report.content import case_name_from_path
from app.review.database import create_database
from app.review.store import DATABASE_NAME, STATUSES, ReviewStore

__all__ = ["CORRECTED_FOLDER", "CORRECTED_GT_FOLDER", "DEFAULT_OUT", "EXPORT_NAMES", "OUTPUT_NAMES", "STATUSES",
           "ReviewFolder", "Unmatched"]

DEFAULT_OUT = "dicelens-review"
CORRECTED_FOLDER = "corrected"
CORRECTED_GT_FOLDER = "ground-truth"
EXPORT_NAMES = ("review.csv", "review.pdf")
OUTPUT_NAMES = (DATABASE_NAME, CASES_FOLDER, REPORTS_FOLDER, CORRECTED_FOLDER, *EXPORT_NAMES)
"""What a review writes inside ``R``: an input file there would be refused."""
ROLES = ("pred", "gt")
_CONFIG_KEYS = ("gt_dir", "pred_dir", "image_dir", "labels")
_UNWRITABLE_ENDINGS = (".dcm", ".jpg", ".jpeg")
_FALLBACK_ENDING = ".nii.gz"
_SEG_ENDING = ".dcm"


@dataclass(frozen=True)
class Unmatched:
    """What pairing left out, as ``dicelens batch`` reports it (full paths, case names for images)."""

    gt_only: tuple[str, ...]
    pred_only: tuple[str, ...]
    cases_without_image: tuple[str, ...]
    ignored: tuple[str, ...]

    def lines(self) -> list[str]:
        """One line per kind of unmatched file, in ``dicelens batch``'s words; empty when all matched."""
        lines = [f"{len(paths)} {label}: {', '.join(Path(p).name for p in paths)}"
                 for label, paths in (("ground truth without a prediction", self.gt_only),
                                      ("prediction without a ground truth", self.pred_only),
                                      ("not an image file, ignored", self.ignored)) if paths]
        if self.cases_without_image:
            lines.append(f"{len(self.cases_without_image)} cases without an image: "
                         f"{', '.join(self.cases_without_image)}")
        return lines


class ReviewFolder:
    """An open review folder. Close it (or use it as a context manager) to release the database.

    Attributes
    ----------
    root : Path
        The review folder ``R`` (absolute).
    cases : list of CaseFiles
        The paired cases, in pairing order, with the original files.
    unmatched : Unmatched
        What pairing did not match.
    labels : str or None
        The label table used for every case.
    image_dir : str or None
        The image folder, if any.
    store : ReviewStore
        The review database.
    """

    def __init__(self, root: Path, pairing: Pairing, config: dict[str, str], store: ReviewStore):
        self.root = root
        self.cases: list[CaseFiles] = list(pairing.cases)
        self.unmatched = Unmatched(tuple(pairing.gt_only), tuple(pairing.pred_only),
                                   tuple(pairing.cases_without_image), tuple(pairing.ignored))
        self.gt_dir = config["gt_dir"]
        self.pred_dir = config["pred_dir"]
        self.image_dir = config.get("image_dir") or None
        self.labels = config.get("labels") or None
        self.store = store
        self._by_name = {files.name: files for files in self.cases}
        self._endings: dict[str, str] = {}   # original file -> the ending of its corrected file
        self._results: dict[str, tuple[tuple[int, int, int], dict | None]] = {}

    # --- creating and opening --------------------------------------------------------------

    @classmethod
    def create(cls, gt_dir: str | Path, pred_dir: str | Path, out: str | Path = DEFAULT_OUT, *,
               image_dir: str | Path | None = None, labels: str | Path | None = None) -> ReviewFolder:
        """Pair the dataset and start a review in ``out``, or reopen the review ``out`` holds for these inputs.

        Raises
        ------
        InputError
            Bad input folders or nothing to pair (batch's messages), an unreadable label table,
            ``out`` overlapping an input, ``out`` holding a review of other inputs, or a folder that
            cannot be created. Nothing is written before every check has passed.
        """
        check_output_folder("--out", out, {"--gt-dir": gt_dir, "--pred-dir": pred_dir, "--image-dir": image_dir},
                            {"--labels": labels}, OUTPUT_NAMES)
        pairing = pair_cases(gt_dir, pred_dir, image_dir)
        if labels is not None:
            from app.io import read_label_table

            read_label_table(labels)   # a bad table is one error now, not one per case
        config = {"gt_dir": str(Path(gt_dir).resolve()), "pred_dir": str(Path(pred_dir).resolve()),
                  "image_dir": "" if image_dir is None else str(Path(image_dir).resolve()),
                  "labels": "" if labels is None else str(Path(labels).resolve())}
        root = Path(out).resolve()
        database = root / DATABASE_NAME
        if not database.exists():
            if root.exists() and not root.is_dir():
                raise InputError(f"--out '{out}' is a file; give a folder for the review.")
            try:
                for folder in (root / CASES_FOLDER, root / CORRECTED_FOLDER / CORRECTED_GT_FOLDER):
                    folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError(f"--out '{out}': cannot create the review folder ({error.strerror}).") from None
            create_database(database, config)   # another process may have created it meanwhile: kept
        store = ReviewStore.open(database)
        stored = {key: store.config().get(key, "") for key in _CONFIG_KEYS}
        if stored != config:
            store.close()
            differing = ", ".join(f"{key} '{stored[key]}' there, '{config[key]}' now"
                                  for key in _CONFIG_KEYS if stored[key] != config[key])
            raise InputError(f"--out '{out}' holds a review of other inputs ({differing}); open it with "
                             f"`dicelens review {out}` or choose another --out folder.")
        return cls(root, pairing, config, store)

    @classmethod
    def open(cls, root: str | Path) -> ReviewFolder:
        """Reopen the review folder ``root`` and pair its dataset again.

        Raises
        ------
        InputError
            ``root`` missing or not a review folder; its database made by a newer DiceLens, locked or
            damaged; its input folders gone. Nothing is written then.
        """
        folder = Path(root)
        if not folder.is_dir():
            raise InputError(f"the review folder '{root}' does not exist or is not a folder; give a folder "
                             "made by `dicelens review --out`.")
        folder = folder.resolve()
        store = ReviewStore.open(folder / DATABASE_NAME)
        try:
            config = store.config()
            missing = [key for key in ("gt_dir", "pred_dir") if key not in config]
            if missing:
                raise InputError(f"the review database '{store.path}' lacks the dataset's {', '.join(missing)}; "
                                 "start a new review folder.")
            for option, key in (("--gt-dir", "gt_dir"), ("--pred-dir", "pred_dir"), ("--image-dir", "image_dir")):
                if config.get(key) and not Path(config[key]).is_dir():
                    raise InputError(f"the review '{folder}' was made with {option} '{config[key]}', which is not "
                                     "a folder any more; restore it there, or start a new review.")
            pairing = pair_cases(config["gt_dir"], config["pred_dir"], config.get("image_dir") or None)
        except BaseException:
            store.close()
            raise
        return cls(folder, pairing, config, store)

    def close(self) -> None:
        """Close the review database."""
        self.store.close()

    def __enter__(self) -> ReviewFolder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- cases -----------------------------------------------------------------------------

    def original_files(self, case: str) -> CaseFiles:
        """The case's input files as paired (never the corrected ones).

        Raises
        ------
        KeyError
            ``case`` is not a case of this review.
        """
        try:
            return self._by_name[case]
        except KeyError:
            raise KeyError(f"no case {case!r} in the review '{self.root}'") from None

    def case_files(self, case: str) -> CaseFiles:
        """The files to open for ``case``: a corrected prediction / ground truth in place of the original."""
        files = self.original_files(case)
        pred, gt = self.corrected_path(case, "pred"), self.corrected_path(case, "gt")
        return replace(files, pred=str(pred) if pred.exists() else files.pred,
                       gt=str(gt) if gt.exists() else files.gt)

    def corrected_path(self, case: str, role: str) -> Path:
        """Where the corrected mask of ``case`` goes: ``role`` "pred" → ``R/corrected/<case><ending>``,
        "gt" → ``R/corrected/ground-truth/<case><ending>``, ``<ending>`` that of the original file
        (``.dcm`` for a DICOM SEG, written as a new SEG; ``.nii.gz`` for RTSTRUCT, DICOM image and
        JPEG sources, which cannot be written as masks)."""
        if role not in ROLES:
            raise ValueError(f"role is 'pred' or 'gt', not {role!r}")
        files = self.original_files(case)
        original = files.pred if role == "pred" else files.gt
        ending = self._endings.get(original)
        if ending is None:
            ending = self._endings[original] = _ending(Path(original), role)
        folder = self.root / CORRECTED_FOLDER
        return (folder if role == "pred" else folder / CORRECTED_GT_FOLDER) / f"{case}{ending}"

    def is_corrected(self, case: str) -> bool:
        """True when ``R/corrected/`` holds a corrected prediction or ground truth of ``case``."""
        return any(self.corrected_path(case, role).exists() for role in ROLES)

    def corrected_note(self, case: str) -> str:
        """How the window's title marks ``case``: "" (not corrected), "corrected", or "corrected, saved as
        NIfTI" when a corrected file is NIfTI in place of a source DiceLens cannot write (RTSTRUCT...)."""
        files = self.original_files(case)
        changed = [role for role in ROLES if self.corrected_path(case, role).exists()]
        if not changed:
            return ""
        if any(self.corrected_path(case, role).name.endswith(_FALLBACK_ENDING)
               and not str(getattr(files, role)).lower().endswith(_FALLBACK_ENDING) for role in changed):
            return "corrected, saved as NIfTI"
        return "corrected"

    def case_result(self, case: str) -> dict | None:
        """The stored scores of ``case`` (``R/cases/<case>.json``, ``"score"`` as a CaseScore), or None.

        None also when the stored result is for other input paths or incomplete. The input files are
        not hashed here (that is ``batch --resume``'s job); the scores are those of the originals.
        A result read once is kept until its file is replaced (same inode, size and modification
        time: not read again), so refreshing the worklist stays cheap; treat it as read-only.
        """
        files = self.original_files(case)
        try:
            found = case_result_path(self.root, case).stat()
        except OSError:
            self._results.pop(case, None)
            return None
        stamp = (found.st_ino, found.st_size, found.st_mtime_ns)
        cached = self._results.get(case)
        if cached is None or cached[0] != stamp:   # read again only when the file was replaced
            cached = (stamp, load_case_result(self.root, files, need_report=False, verify_inputs=False))
            self._results[case] = cached
        return cached[1]

    def case_names(self) -> list[str]:
        """Every case name, in pairing order."""
        return [files.name for files in self.cases]


def _ending(path: Path, role: str) -> str:
    """The ending of the corrected file of ``path``: its own, ``.dcm`` for a DICOM SEG (written as a new
    SEG), ``.nii.gz`` for what cannot be written as a mask (DICOM series and other objects, JPEG)."""
    if path.is_dir():
        return _FALLBACK_ENDING
    ending = path.name[len(case_name_from_path(path.name)):]
    if ending.lower() == _SEG_ENDING and _is_dicom_seg(path, role):
        return _SEG_ENDING
    if not ending or ending.lower() in _UNWRITABLE_ENDINGS:
        return _FALLBACK_ENDING
    return ending


def _is_dicom_seg(path: Path, role: str) -> bool:
    from app.io.dicom_objects import SEG_FORMAT, segmentation_object_kind

    try:
        return segmentation_object_kind(path, role) == SEG_FORMAT
    except InputError:   # unreadable now: opening the case will say why
        return False
