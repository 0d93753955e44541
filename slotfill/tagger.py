"""SlotTagger: slots (BIO tags decoded by Viterbi or argmax) and, with an intent head, the intent of raw text."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .analysis import confusions, span_errors
from .calibration import summary, summary_line
from .config import Config
from .decode import BioDecoder
from .features import Features
from .metrics import classification_metrics, format_span_table, joint_metrics, span_metrics
from .predictor import Engine, Predictor
from .readers import TaggedSentence, read_tagged
from .storage import Parts
from .tags import spans
from .text import Token
from .vocab import Vocab

TOKENS = {0: "batch", 1: "tokens"}


class SlotTagger(Predictor):
    """Tags slots (and the intent, when trained with intents) in raw text."""

    task = "tagger"
    command = "tag"
    metric = "f1"
    OUTPUTS = {"emissions": TOKENS, "transitions": {}, "start": {}, "end": {}, "intents": {0: "batch"}}
    CALIBRATED = "intents"

    def __init__(self, parts: Parts, backend: Engine):
        super().__init__(parts, backend)
        self.tags = Vocab(parts.labels["tags"], specials=())
        self.intents = Vocab(parts.labels["intents"], specials=()) if parts.labels.get("intents") else None
        self.decoder = BioDecoder(self.tags.itos)

    @classmethod
    def outputs(cls, parts: Parts) -> list[str]:
        crf = ["transitions", "start", "end"] if parts.config.model.decoder == "crf" else []
        return ["emissions", *crf, *(["intents"] if parts.labels.get("intents") else [])]

    @classmethod
    def read(cls, config: Config, path: str | Path) -> list[TaggedSentence]:
        return read_tagged(path, config.data.format, config.text.latin_in_cjk)

    @classmethod
    def label_lists(cls, config: Config, examples: list[TaggedSentence]) -> dict[str, list[str] | None]:
        """Tags (O first), and intents when the intent head is on and every example has one."""
        intents = config.model.intent_weight > 0 and all(e.intent for e in examples)
        return {"tags": ["O", *sorted({t for e in examples for t in e.tags} - {"O"})],
                "intents": sorted({e.intent for e in examples}) if intents else None}

    def targets(self, example: TaggedSentence) -> dict[str, np.ndarray | int]:
        targets: dict[str, np.ndarray | int] = {"tags": np.array(self.tags.ids(example.tags), dtype=np.int64)}
        if self.intents is not None:
            targets["intents"] = self.intents.id(example.intent)
        return targets

    def _decode(self, features: Features, scores: dict) -> list[tuple[list[str], np.ndarray | None]]:
        if "transitions" in scores:
            paths = self.decoder.decode(scores["emissions"], features.lengths, scores["transitions"], scores["start"], scores["end"])
        else:
            paths = scores["emissions"].argmax(-1)
        itos = self.tags.itos
        tags = [[itos[t] for t in row[:n]] for row, n in zip(paths.tolist(), features.lengths.tolist())]
        return list(zip(tags, scores["intents"] if "intents" in scores else [None] * len(tags)))

    def predict_tokens(self, token_lists: list[list[str]]) -> list[tuple[list[str], np.ndarray | None]]:
        """(tags, intent probabilities or None) for each tokenized sentence."""
        return self._predict(token_lists, self._decode)

    def tag(self, text: str, ranking: int = 0) -> dict:
        """`{"text", "tokens", "tags", "slots": [{"label", "text", "start", "end"}]}` (+ "intent")."""
        return self.tag_batch([text], ranking)[0]

    def tag_batch(self, texts: list[str], ranking: int = 0) -> list[dict]:
        """`tag` for each text; `ranking` > 0 adds the best `ranking` intents to each "intent"."""
        tokenized = self._tokenized(texts)
        results = self.predict_tokens([[t.text for t in tokens] for tokens in tokenized])
        return [self._tagged(text, tokens, tags, probs, ranking) for text, tokens, (tags, probs) in zip(texts, tokenized, results)]

    predict_batch = tag_batch

    def _tagged(self, text: str, tokens: list[Token], tags: list[str], probs: np.ndarray | None, ranking: int) -> dict:
        slots = []
        for span in spans(tags):
            start, end = tokens[span.start].start, tokens[span.end - 1].end
            slots.append({"label": span.label, "text": text[start:end], "start": start, "end": end})
        result = {"text": text, "tokens": [t.text for t in tokens], "tags": tags, "slots": slots}
        if probs is not None:
            best = int(probs.argmax())
            result["intent"] = {"label": self.intents.itos[best], "score": float(probs[best])}
            if ranking > 0:
                top = np.argsort(-probs, kind="stable")[:ranking]
                result["intent"]["ranking"] = [{"label": self.intents.itos[i], "score": float(probs[i])} for i in top]
        return result

    def evaluate(self, sentences: list[TaggedSentence], errors: int | None = None) -> dict:
        """conlleval span metrics (with intent and sentence accuracy and the calibration of the intent
        confidences when the model has an intent head); with `errors`, also the error analysis ("errors", with up
        to `errors` sentences) and the per-intent figures ("intents")."""
        predicted = self.predict_tokens([s.tokens for s in sentences])
        gold_tags, pred_tags = [s.tags for s in sentences], [tags for tags, _ in predicted]
        if self.intents is None or not all(s.intent for s in sentences):
            result = span_metrics(gold_tags, pred_tags)
            if errors is not None:
                result["errors"] = span_errors([s.tokens for s in sentences], gold_tags, pred_tags, errors)
            return result
        intents = [self.intents.itos[int(probs.argmax())] for _, probs in predicted]
        gold_intents = [s.intent for s in sentences]
        result = joint_metrics(gold_tags, pred_tags, gold_intents, intents)
        result["calibration"] = summary(np.stack([probs for _, probs in predicted]),
                                        [g == p for g, p in zip(gold_intents, intents)], self.parts.temperature)
        if errors is not None:
            result["errors"] = span_errors([s.tokens for s in sentences], gold_tags, pred_tags, errors, (gold_intents, intents))
            result["errors"]["confusions"] = confusions(gold_intents, intents)
            result["intents"] = classification_metrics(gold_intents, intents, sorted(set(self.intents.itos) | set(gold_intents)))
        return result

    def confidences(self, sentences: list[TaggedSentence]) -> tuple[np.ndarray, np.ndarray] | None:
        known = [s for s in sentences if s.intent in (self.intents.stoi if self.intents else ())]
        if not known:
            return None
        probabilities = np.stack([probs for _, probs in self.predict_tokens([s.tokens for s in known])])
        return probabilities, np.array(self.intents.ids(s.intent for s in known))

    def format_result(self, result: dict) -> str:
        lines = [result["text"]]
        width = max([len(s["label"]) for s in result["slots"]] + [6])
        if "intent" in result:
            lines.append(f"  {'intent':<{width}}  {result['intent']['label']} ({result['intent']['score']:.2f})")
        lines += [f"  {s['label']:<{width}}  {s['text']}  [{s['start']}:{s['end']}]" for s in result["slots"]]
        if not result["slots"]:
            lines.append("  (no slots)")
        return "\n".join(lines)

    def format_metrics(self, metrics: dict) -> str:
        return format_span_table(metrics) + summary_line(metrics, "intent")

    @staticmethod
    def summary(metrics: dict) -> str:
        line = f"P {100 * metrics['precision']:.2f} R {100 * metrics['recall']:.2f} F1 {100 * metrics['f1']:.2f}"
        if "intent_accuracy" in metrics:
            line += f" intent {100 * metrics['intent_accuracy']:.2f} sentence {100 * metrics['sentence_accuracy']:.2f}"
        return line

    def describe_labels(self) -> str:
        return f"{len(self.tags)} tags" + (f", {len(self.intents)} intents" if self.intents else "")

    def served_labels(self) -> dict[str, list[str] | None]:
        return {"labels": sorted({tag[2:] for tag in self.tags.itos if tag != "O"}),
                "intents": list(self.intents.itos) if self.intents is not None else None}

    def ranked(self, result: dict) -> tuple[list[dict], list[dict]]:
        intent = result.get("intent")
        return ((intent.get("ranking") or [intent]) if intent else []), result["slots"]
