"""ONNX export of crn-live's networks, each checked with ``onnx.checker`` and against PyTorch in
onnxruntime.

Graphs (named inputs and outputs, static sizes per config; the number of frames or objects is a
dynamic batch, with its stated maximum in the metadata):

* ``visual.onnx``: object crops ``crops (objects, 3, S, S)`` RGB float in ``[0, 1]`` ->
  ``embeddings (objects, embed_dim)`` (the separator's visual encoder);
* ``separator_step.onnx``: one hop of the chunked causal separator with its refinement cycles
  unrolled (``separator_step_r1.onnx``, ``separator_step_r0.onnx``: one and no cycle, the live
  engine's cheaper fallbacks): ``window_log_mix``, ``window_mix_mag (objects, 1, log_bins,
  context_frames)``, ``embeddings (objects, embed_dim)``, ``mixture_ids (objects,)`` int64 ->
  ``masks (objects, 1, log_bins, chunk_frames)``;
* ``detector.onnx``: ``image (frames, 3, H, W)`` RGB float in ``[0, 1]`` -> ``scores (frames,
  C, h, w)`` (non-zero only at score-map peaks) and ``boxes (frames, 4, h, w)`` as fractions of
  the input size. The detector config travels in the graph's metadata.

:func:`export_all` (``python export/build_engines.py --onnx-only``) writes the graphs and
``parity.json`` (``{graph: {"max_abs_err": x,
"mean_abs_err": y}}``, fp32, onnxruntime vs PyTorch on random and real inputs).
Uses the TorchScript exporter (``dynamo=False``): the dynamo one needs ``onnxscript``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from crn_live.data.files import atomic_path

OPSET = 17
MAX_OBJECTS_KEY = "crn_live.max_objects"
MODEL_CONFIG_KEY = "crn_live.model_config"
MODEL_HASH_KEY = "crn_live.model_config_hash"
ITERATIONS_KEY = "crn_live.refine_iterations"


def _export(module, inputs: tuple, names_in: Sequence[str], names_out: Sequence[str],
            batch_name: str, path: Path, metadata: dict[str, str]) -> Path:
    """Trace ``module`` on ``inputs`` to ``path`` (dynamic dim 0 named ``batch_name``), add the
    metadata, check it with ``onnx.checker`` and rename it into place."""
    import onnx
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notices
            torch.onnx.export(module, inputs, str(partial), dynamo=False, opset_version=OPSET,
                              input_names=list(names_in), output_names=list(names_out),
                              dynamic_axes={n: {0: batch_name} for n in (*names_in, *names_out)})
        graph = onnx.load(str(partial))
        for key, value in metadata.items():
            entry = graph.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(graph, full_check=True)
        onnx.save(graph, str(partial))
    return path


def _model_metadata(config, max_objects: int) -> dict[str, str]:
    from crn_live.config import config_hash, to_dict

    return {MODEL_CONFIG_KEY: json.dumps(to_dict(config)), MODEL_HASH_KEY: config_hash(config),
            MAX_OBJECTS_KEY: str(max_objects)}


def export_visual(visual, config, path: Path, max_objects: int = 4) -> Path:
    """The separator's :class:`~crn_live.models.visual.VisualEncoder` (eval, CPU) to ``path``."""
    import torch

    visual = visual.cpu().eval()
    crops = torch.rand(2, 3, config.crop_size, config.crop_size)
    return _export(visual, (crops,), ["crops"], ["embeddings"], "objects", path,
                   _model_metadata(config, max_objects))


def export_separator_step(causal, path: Path, max_objects: int = 4) -> Path:
    """One hop of a :class:`~crn_live.models.causal.ChunkedCausalCRN` (eval, CPU), refinement
    cycles unrolled, to ``path``."""
    from crn_live.models import STEP_INPUT_NAMES, STEP_OUTPUT_NAMES

    causal = causal.cpu().eval()
    metadata = _model_metadata(causal.config, max_objects)
    metadata[ITERATIONS_KEY] = str(causal.config.refine_iterations if causal.iterations is None
                                   else causal.iterations)
    return _export(causal, causal.example_inputs(2), STEP_INPUT_NAMES, STEP_OUTPUT_NAMES,
                   "objects", path, metadata)


def parity(module, path: Path, feeds: list[dict[str, np.ndarray]]) -> dict:
    """Max / mean abs difference of every output between PyTorch ``module(*feed.values())`` and
    onnxruntime on the graph at ``path``, over ``feeds`` (the graph takes the inputs it uses:
    the exporter drops unused ones, e.g. the mixture magnitude of a step without refinement)."""
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    used = {i.name for i in session.get_inputs()}
    worst, means = 0.0, []
    for feed in feeds:
        with torch.no_grad():
            want = module(*(torch.from_numpy(v) for v in feed.values()))
        want = want if isinstance(want, tuple) else (want,)
        got = session.run(names, {k: v for k, v in feed.items() if k in used})
        errors = np.concatenate([np.abs(g - w.numpy()).ravel() for g, w in zip(got, want)])
        worst = max(worst, float(errors.max()))
        means.append(float(errors.mean()))
    return {"max_abs_err": worst, "mean_abs_err": float(np.mean(means))}


def export_detector(model, path: Path, max_frames: int = 8) -> Path:
    """Write an :class:`~crn_live.models.detector.InstrumentDetector` (eval mode, CPU) to
    ``path`` with its config in the metadata; checked by ``onnx.checker``."""
    import torch

    from crn_live.config import config_hash, to_dict
    from crn_live.models.detector import OUTPUT_NAMES
    from crn_live.vision.detector import CONFIG_KEY, HASH_KEY

    c = model.config
    model = model.cpu().eval()
    example = torch.rand(1, 3, c.input_height, c.input_width)
    return _export(model, (example,), ["image"], OUTPUT_NAMES, "frames", path,
                   {CONFIG_KEY: json.dumps(to_dict(c)), HASH_KEY: config_hash(c),
                    MAX_OBJECTS_KEY: str(max_frames)})


def detector_parity(model, path: Path, images: np.ndarray) -> dict:
    """Max / mean abs difference of ``boxes`` and of the score maps (before the peak test:
    ties may fall either way) between PyTorch and onnxruntime on ``images (n, 3, H, W)``."""
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst, means = 0.0, []
    for image in images:
        with torch.no_grad():
            want_scores, want_boxes = (t.numpy() for t in model(torch.from_numpy(image[None])))
        got_scores, got_boxes = session.run(["scores", "boxes"], {"image": image[None]})
        # scores are zero off-peak; compare where both graphs found the same peaks
        same_peaks = (want_scores > 0) == (got_scores > 0)
        errors = np.concatenate([np.abs(got_boxes - want_boxes).ravel(),
                                 np.abs(got_scores - want_scores)[same_peaks].ravel()])
        worst = max(worst, float(errors.max()))
        means.append(float(errors.mean()))
    return {"max_abs_err": worst, "mean_abs_err": float(np.mean(means))}


def _random_feeds(separator, detector, rng: np.random.Generator, objects: int) -> dict:
    """Random inputs per graph (two object counts for the dynamic batch)."""
    from crn_live.models import log_magnitude

    c, d = separator.config, detector.config
    feeds: dict[str, list] = {"visual": [], "separator_step": [], "detector": []}
    for n in (1, objects):
        feeds["visual"].append({"crops": rng.random((n, 3, c.crop_size, c.crop_size),
                                                    dtype=np.float32)})
        mag = rng.random((n, 1, c.log_bins, c.context_frames), dtype=np.float32) * 3
        feeds["separator_step"].append({
            "window_log_mix": log_magnitude(torch_tensor(mag)).numpy(), "window_mix_mag": mag,
            "embeddings": rng.standard_normal((n, c.embed_dim)).astype(np.float32),
            "mixture_ids": np.zeros(n, np.int64)})
    feeds["detector"].append({"image": rng.random((2, 3, d.input_height, d.input_width),
                                                  dtype=np.float32)})
    return feeds


def torch_tensor(array: np.ndarray):
    import torch

    return torch.from_numpy(array)


def _clip_feeds(separator, detector, clip_dir: Path) -> dict:
    """Real inputs from a crn-synth clip: its crops, a window of its mixture's spectrogram with
    its objects' embeddings, its video frames."""
    from crn_live.data.clips import open_clip
    from crn_live.data.video import read_frames, spaced_frames
    from crn_live.models import log_magnitude
    from crn_live.separation import clip_embeddings
    from crn_live.vision.decode import letterbox

    clip = open_clip(clip_dir)
    c, d = separator.config, detector.config
    frames = spaced_frames(int(clip.meta["n_frames"]), clip.fps)[:4]
    crops = clip.crops(frames, c.crop_size)[:, 0].transpose(0, 3, 1, 2)
    mag = separator.spectrogram(clip.mix(separator.rate))
    start = max(0, mag.shape[1] // 2 - c.context_frames)
    window = np.ascontiguousarray(np.broadcast_to(
        mag[None, None, :, start:start + c.context_frames],
        (len(clip.slots), 1, c.log_bins, c.context_frames)), np.float32)
    images = read_frames(clip.folder / "video.mp4", frames.tolist())
    return {
        "visual": [{"crops": np.ascontiguousarray(crops, np.float32) / 255.0}],
        "separator_step": [{"window_log_mix": log_magnitude(torch_tensor(window)).numpy(),
                            "window_mix_mag": window,
                            "embeddings": clip_embeddings(separator, clip).astype(np.float32),
                            "mixture_ids": np.zeros(len(clip.slots), np.int64)}],
        "detector": [{"image": np.stack([letterbox(images[int(i)], d.input_width,
                                                   d.input_height)[0] for i in frames])}]}


def export_all(out: Path, model: Path | None = None, detector_path: Path | None = None,
               max_objects: int = 4, clip: Path | None = None) -> dict:
    """Export every graph of the given (default: bundled) models into ``out`` (the visual
    encoder, the step at each refinement level of :func:`~crn_live.runtime.graphs.step_levels`,
    the detector) and check each against PyTorch; returns and writes ``parity.json``."""
    from crn_live.runtime.graphs import DETECTOR, VISUAL, separator_modules
    from crn_live.separation import Separator
    from crn_live.vision.detector import detector_checkpoint

    separator = Separator.load(model, "cpu")
    detector = detector_checkpoint(detector_path).model
    modules = {**separator_modules(separator), DETECTOR: detector}
    paths = {}
    for name, module in modules.items():
        path = out / f"{name}.onnx"
        if name == VISUAL:
            paths[name] = export_visual(module, separator.config, path, max_objects)
        elif name == DETECTOR:
            paths[name] = export_detector(module, path)
        else:
            paths[name] = export_separator_step(module, path, max_objects)
    feeds = _random_feeds(separator, detector, np.random.default_rng(0), max_objects)
    if clip is not None:
        for name, extra in _clip_feeds(separator, detector, clip).items():
            feeds[name] += extra
    report = {}
    for name, path in paths.items():
        kind = name if name in (VISUAL, DETECTOR) else "separator_step"
        if name == DETECTOR:  # peaks may tie either way: compared where both agree
            report[name] = _detector_parity_feeds(detector, path, feeds[kind])
        else:
            report[name] = parity(modules[name], path, feeds[kind])
        report[name]["inputs"] = "random + clip" if clip is not None else "random"
    out.mkdir(parents=True, exist_ok=True)
    (out / "parity.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def _detector_parity_feeds(detector, path: Path, feeds: list[dict]) -> dict:
    images = np.concatenate([f["image"] for f in feeds])
    return detector_parity(detector, path, images)
