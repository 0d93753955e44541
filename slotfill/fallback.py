"""The fallback answer (numpy-free, so that the CLI can name its options without loading numpy): when a model
answers the fallback intent instead of its best guess, as Rasa's FallbackClassifier answers. Four reasons,
checked in this order: the model's out-of-scope class wins (`data.out_of_scope`); the top probability is below
`threshold`; the top two are closer than `ambiguity_threshold`; the sentence is unlike the training data: its
typicality (scope.Typicality) is below `typicality_threshold`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from .errors import SlotfillError

FALLBACK = "nlu_fallback"  # the label answered instead of the model's guess (Rasa's)
REASONS = ("out of scope", "low confidence", "ambiguous", "unlike the training data")
THRESHOLDS = {  # each setting of a Fallback: when it answers the fallback (the CLI's options and the API's fields)
    "threshold": "the top intent's (or class's) probability is below this",
    "ambiguity_threshold": "the top two probabilities are closer than this",
    "typicality_threshold": "the sentence is less typical of the training data than this",
}


@dataclass(frozen=True)
class Fallback:
    """When to fall back; each threshold in [0, 1], 0 turns it off."""

    threshold: float = 0.0
    ambiguity_threshold: float = 0.0
    typicality_threshold: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise SlotfillError(f"{f.name} must be a number from 0 to 1, not {value!r}")

    @classmethod
    def from_json(cls, data: dict) -> Fallback:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise SlotfillError(f"unknown fallback setting {sorted(unknown)[0]!r}")
        return cls(**data)

    def to_json(self) -> dict:
        return asdict(self)

    def but(self, **overrides: float | None) -> Fallback:
        """These settings with the `overrides` that are not None."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def reason(self, label: str, top: float, second: float, typicality: float | None, out_of_scope: str) -> str | None:
        """Why a sentence falls back whose best `label` has probability `top` (at the model's temperature) and the
        next `second`, or None."""
        if out_of_scope and label == out_of_scope:
            return REASONS[0]
        if top < self.threshold:
            return REASONS[1]
        if top - second < self.ambiguity_threshold:
            return REASONS[2]
        if typicality is not None and typicality < self.typicality_threshold:
            return REASONS[3]
        return None

    def answer(self, label: str, top: float, second: float, typicality: float | None, out_of_scope: str) -> dict | None:
        """The fallback of a sentence (see `reason`): `{"reason", "score", "label", "guess"}`, where `score` is the
        fallback's own confidence (the threshold, as Rasa gives it; the out-of-scope class's probability;
        1 - typicality) and `label` and `guess` the model's best label and its probability; None where the
        model's label stands."""
        reason = self.reason(label, top, second, typicality, out_of_scope)
        if reason is None:
            return None
        score = {REASONS[0]: top, REASONS[3]: 1 - (typicality or 0.0)}.get(reason, self.threshold)
        return {"reason": reason, "score": score, "label": label, "guess": top}


def check_out_of_scope(name: str, labels: list[str]) -> None:
    """Refuse a `data.out_of_scope` label that the training data never uses."""
    if name and name not in labels:
        raise SlotfillError(f"data.out_of_scope = {name!r}: no training example has this label")


def ranked_with(fallback: dict | None, ranking: list[dict]) -> list[dict]:
    """An intent ranking as Rasa's FallbackClassifier gives it: the fallback first, at its score, then the model's."""
    return [{"label": FALLBACK, "score": fallback["score"]}, *ranking] if fallback else ranking
