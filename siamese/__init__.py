"""Siamese networks for identifying (thermal) faces: train, map, choose representatives, evaluate.

The package imports TensorFlow only when a model is built or loaded, so listing data
or runs stays fast.
"""

from __future__ import annotations

import os

# Keep TensorFlow's C++ start-up logs quiet unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from siamese.data.folders import Dataset, Listing, Skipped, load_folder, scan_folder
from siamese.data.split import split_dataset
from siamese.data.thermal_pixels import PixelMapping
from siamese.errors import SiameseError
from siamese.gallery.enroll import Person, enroll, enroll_folder, unenroll
from siamese.maps.representatives import represent
from siamese.runs.layout import request_cancel
from siamese.runs.store import Run, list_runs, load_run
from siamese.scoring.evaluation import Evaluation, evaluate
from siamese.scoring.probe import ProbeResult, probe
from siamese.scoring.raw_pixel_baseline import raw_pixel_accuracy
from siamese.training.config import TrainConfig
from siamese.training.single_process import train

__all__ = [
    "Dataset",
    "Evaluation",
    "Listing",
    "Person",
    "PixelMapping",
    "ProbeResult",
    "Run",
    "SiameseError",
    "Skipped",
    "TrainConfig",
    "enroll",
    "enroll_folder",
    "evaluate",
    "list_runs",
    "load_folder",
    "load_run",
    "probe",
    "raw_pixel_accuracy",
    "represent",
    "request_cancel",
    "scan_folder",
    "split_dataset",
    "train",
    "unenroll",
]
