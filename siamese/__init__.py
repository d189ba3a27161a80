"""Siamese networks for identifying (thermal) faces: train, map, choose representatives, evaluate.

The package imports TensorFlow only when a model is built or loaded, so listing data
or runs stays fast.
"""

from __future__ import annotations

import os

# Keep TensorFlow's C++ start-up logs quiet unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from siamese.baseline import raw_pixel_accuracy
from siamese.config import TrainConfig
from siamese.data import Dataset, Listing, Skipped, load_folder, scan_folder
from siamese.errors import SiameseError
from siamese.evaluation import Evaluation, evaluate
from siamese.probe import ProbeResult, probe
from siamese.representatives import represent
from siamese.rundir import request_cancel
from siamese.runs import Run, list_runs, load_run
from siamese.split import split_dataset
from siamese.thermal import PixelMapping
from siamese.training import train

__all__ = [
    "Dataset",
    "Evaluation",
    "Listing",
    "PixelMapping",
    "ProbeResult",
    "Run",
    "SiameseError",
    "Skipped",
    "TrainConfig",
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
]
