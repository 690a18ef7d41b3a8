"""Networks of the CRN: spectrogram windows in, masks out (no STFT, files, Qt or devices).

* :class:`CRN` - separator U-Net + shared cycle refiner, offline (faithful to the reference);
* :class:`ChunkedCausalCRN` - the same CRN over a sliding window, ``step`` per chunk;
* :class:`VisualEncoder` - object crops -> embeddings;
* :class:`AudioClassifier`, :class:`FeatureExtractor` - training-loss networks;
* :class:`CRNSystem` - all of them for one config (one checkpoint);
* :class:`SeparatorModel` - visual encoder + CRN only (inference, the bundled weights);
* :func:`save_checkpoint` / :func:`load_checkpoint`.
"""

from crn_live.models.causal import STEP_INPUT_NAMES, STEP_OUTPUT_NAMES, ChunkedCausalCRN
from crn_live.models.checkpoint import (
    KINDS,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)
from crn_live.models.classifier import AudioClassifier, FeatureExtractor
from crn_live.models.crn import (
    CRN,
    MIX_EPS,
    RESIDUAL_MASK_RANGE,
    log_magnitude,
    mixture_membership,
    residual_mask,
)
from crn_live.models.system import CRNSystem, SeparatorModel
from crn_live.models.unet import ConditionedUNet
from crn_live.models.visual import VisualEncoder

__all__ = [
    "AudioClassifier",
    "CRN",
    "CRNSystem",
    "Checkpoint",
    "CheckpointError",
    "ChunkedCausalCRN",
    "ConditionedUNet",
    "FeatureExtractor",
    "KINDS",
    "MIX_EPS",
    "RESIDUAL_MASK_RANGE",
    "STEP_INPUT_NAMES",
    "STEP_OUTPUT_NAMES",
    "SeparatorModel",
    "VisualEncoder",
    "load_checkpoint",
    "log_magnitude",
    "mixture_membership",
    "residual_mask",
    "save_checkpoint",
]
