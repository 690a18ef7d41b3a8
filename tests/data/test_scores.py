"""Real scores: the declared train/held-out split, parsing, excerpts fitted to instruments."""


import numpy as np
import pytest

from crn_live.data import scores
from crn_live.instruments import BY_NAME
from tests.helpers import write_musicxml


def test_split_is_declared_train_bach_palestrina_only():
    train = scores.corpus_pool("train")
    val, test = scores.corpus_pool("val"), scores.corpus_pool("test")
    assert train and val and test
    assert {r.composer for r in train} == {"bach", "palestrina"}
    held_out = {r.composer for r in val + test}
    assert not held_out & {"bach", "palestrina"}
    keys = [{r.key for r in pool} for pool in (train, val, test)]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert scores.corpus_split("cpebach", "cpebach/x.mxl") != "train"  # C. P. E. is not J. S.


def test_user_folder_excerpt_fits_registers(tmp_path):
    write_musicxml(tmp_path / "duet.musicxml", parts=2)
    pool = scores.folder_pool(tmp_path)
    parsed = scores.parse_score(pool[0])
    assert len(parsed.parts) == 2
    insts = [BY_NAME["Cello"], BY_NAME["Flute"]]
    piece = scores.score_segment(np.random.default_rng(0), parsed, insts, seconds=6.0)
    for inst, part in zip(insts, piece.parts):
        assert part, "an excerpt part is empty"
        assert all(inst.low <= n.pitch <= inst.high for n in part)
        assert all(0 <= n.start < n.end <= 6.0 for n in part)
    # the lower part went to the cello
    assert np.median([n.pitch for n in piece.parts[0]]) < np.median(
        [n.pitch for n in piece.parts[1]])


def test_unreadable_score_names_the_file(tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"this is not midi")
    with pytest.raises(scores.ScoreError, match="broken.mid"):
        scores.parse_score(scores.folder_pool(tmp_path)[0])


def test_empty_score_folder_is_refused(tmp_path):
    with pytest.raises(scores.ScoreError, match="no score files"):
        scores.folder_pool(tmp_path)
