"""What the separator is told about each instrument: its class, and its appearance where a
picture exists and can be trusted.

The condition of object ``k`` is::

    condition_k = class_embedding[class_k] + keep_k * appearance_proj(appearance_k)

``appearance_k`` is the visual encoder's embedding of the player's crop; ``keep_k`` is 1 when
the appearance is used and 0 for the class alone (no picture, or a picture the guard rejects).
Training drops the appearance of each object with probability ``appearance_dropout`` so that
the class alone gives full quality, and the appearance only adds what tells two players apart.

Pictures are used only where they are needed (:meth:`Conditioner.conditions`): an
instrument whose class no other instrument of the mixture shares is separated by its class
alone; only players of one class are told apart by their pictures. Measured with the bundled
model on the synthetic test split (``crn-eval --streaming``: ``streaming_class`` against
``streaming_appearance``), drawn pictures through the guard add 0.2 dB SDRi on average (+0.4
for 3 sources, -0.1 for 2), and a real camera's pictures are what the guard leaves out; the
class alone is the default that cannot be fooled by a picture, ``only_when_needed=False``
offers every picture to the guard.

The guard (:meth:`Conditioner.trusts`): the visual encoder was trained on the project's
drawings only. A crop unlike them (a real photo) gives an appearance embedding that means
nothing; the class head on the appearance then disagrees with the named class or is unsure.
The appearance is used only when the head names the same class with at least
:data:`GUARD_CONFIDENCE`.

:class:`Conditioning` is the trained module (part of the separator's checkpoint);
:class:`Conditioner` is its numpy twin for run time (a few small matrix products: the live
engine applies it to what the visual graph returns, whatever backend ran that graph).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Sequence

import numpy as np
import torch
from torch import nn

from crn_live.config import ModelConfig

#: Probability the class head must give the named class for the appearance to be used. It sits
#: between what the bundled v2 encoder gives drawings (>= 0.988 for every class's drawn
#: crops) and real photographs (<= 0.002 for the reference's real crops; up to 0.655 for a
#: crop of matplotlib's sample portrait, which the earlier 0.6 let through as a double bass).
GUARD_CONFIDENCE = 0.8
#: Why a picture was left out when no other instrument shares the class.
ALONE_REASON = "no other instrument of its class here: the class alone separates it"


class Conditioning(nn.Module):
    """``(class_ids (objects,), appearance (objects, embed_dim), keep (objects,))`` ->
    conditions ``(objects, embed_dim)``; :attr:`head` maps an appearance to class logits."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.classes = nn.Embedding(config.n_classes, config.embed_dim)
        self.appearance = nn.Linear(config.embed_dim, config.embed_dim)
        self.head = nn.Linear(config.embed_dim, config.n_classes)

    def forward(self, class_ids: torch.Tensor, appearance: torch.Tensor,
                keep: torch.Tensor) -> torch.Tensor:
        return self.classes(class_ids) + keep[:, None].to(appearance.dtype) \
            * self.appearance(appearance)


@dataclasses.dataclass(frozen=True)
class Condition:
    """One instrument's condition and whether its picture was used (and why not)."""

    embedding: np.ndarray  # (embed_dim,) float32
    class_id: int
    used_appearance: bool
    confidence: float = float("nan")  # the class head's probability of the named class
    reason: str = ""  # why the appearance was left out ("" when used)


class Conditioner:
    """The numpy twin of a :class:`Conditioning` module."""

    def __init__(self, classes: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                 head_weight: np.ndarray, head_bias: np.ndarray,
                 confidence: float = GUARD_CONFIDENCE) -> None:
        self.classes = np.asarray(classes, np.float32)
        self.weight, self.bias = np.asarray(weight, np.float32), np.asarray(bias, np.float32)
        self.head_weight = np.asarray(head_weight, np.float32)
        self.head_bias = np.asarray(head_bias, np.float32)
        self.confidence = confidence

    @classmethod
    def from_module(cls, module: Conditioning) -> "Conditioner":
        def array(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().float().numpy().copy()

        return cls(array(module.classes.weight), array(module.appearance.weight),
                   array(module.appearance.bias), array(module.head.weight),
                   array(module.head.bias))

    def without_guard(self) -> "Conditioner":
        """The same conditioner trusting every picture (for comparisons and tests)."""
        return Conditioner(self.classes, self.weight, self.bias, self.head_weight,
                           self.head_bias, confidence=0.0)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_probabilities(self, appearance: np.ndarray) -> np.ndarray:
        """Softmax of the class head on ``appearance (embed_dim,)``."""
        logits = self.head_weight @ np.asarray(appearance, np.float32) + self.head_bias
        logits = logits - logits.max()
        p = np.exp(logits)
        return p / p.sum()

    def trusts(self, class_id: int, appearance: np.ndarray) -> tuple[bool, float, str]:
        """``(use it, the head's probability of the class, why not)`` for one appearance."""
        p = self.class_probabilities(appearance)
        confidence = float(p[class_id])
        if self.confidence <= 0:
            return True, confidence, ""
        if int(np.argmax(p)) != class_id:
            return False, confidence, "the picture does not look like this class to the model"
        if confidence < self.confidence:
            return False, confidence, (f"the model is unsure of the picture ({confidence:.2f} "
                                       f"< {self.confidence})")
        return True, confidence, ""

    def conditions(self, class_ids: Sequence[int],
                   appearances: Sequence[np.ndarray | None],
                   guard: bool = True, only_when_needed: bool = True) -> list[Condition]:
        """The conditions of the instruments of one mixture: with ``only_when_needed``, a
        picture is used (through the guard) only for an instrument whose class another one
        shares; the others are separated by their class alone."""
        counts = Counter(int(c) for c in class_ids)
        out = []
        for class_id, appearance in zip(class_ids, appearances):
            if only_when_needed and appearance is not None and counts[int(class_id)] < 2:
                alone = self.condition(int(class_id))
                out.append(dataclasses.replace(alone, reason=ALONE_REASON))
            else:
                out.append(self.condition(int(class_id), appearance, guard))
        return out

    def condition(self, class_id: int, appearance: np.ndarray | None = None,
                  guard: bool = True) -> Condition:
        """The condition of one instrument: class only when ``appearance`` is None or (with
        ``guard``) not trusted."""
        if not 0 <= class_id < self.n_classes:
            raise ValueError(f"class id {class_id} outside the model's {self.n_classes} classes")
        embedding = self.classes[class_id].copy()
        if appearance is None:
            return Condition(embedding, class_id, False, reason="no picture")
        appearance = np.asarray(appearance, np.float32)
        use, confidence, reason = self.trusts(class_id, appearance) if guard else \
            (True, float(self.class_probabilities(appearance)[class_id]), "")
        if use:
            embedding += self.weight @ appearance + self.bias
        return Condition(embedding.astype(np.float32), class_id, use, confidence, reason)
