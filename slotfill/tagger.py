"""SlotTagger: slots (BIO tags decoded by Viterbi or argmax) and, with an intent head, the intent of raw text."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from .analysis import confusions, span_errors
from .calibration import search, span_reliability, span_summary_line, summary, summary_line
from .config import Config
from .decode import BioDecoder, SoftmaxDecoder
from .errors import SlotfillError
from .features import Features
from .metrics import classification_metrics, format_span_table, joint_metrics, span_metrics
from .predictor import BATCH_SIZE, Engine, Predictor
from .readers import TaggedSentence, read_tagged
from .fallback import FALLBACK, Fallback, check_out_of_scope, ranked_with
from .scope import format_metrics
from .storage import Parts
from .tags import MAX_NBEST, Span, spans
from .text import Token
from .vocab import Vocab

TOKENS = {0: "batch", 1: "tokens"}
CRF_SCORES = ("transitions", "start", "end")


class Reading(NamedTuple):
    """One tag sequence of a sentence: its tags, their spans, each span's probability and the sequence's
    (None where not computed)."""

    tags: list[str]
    spans: list[Span]
    scores: list[float] | None
    probability: float | None


class Decoded(NamedTuple):
    """A sentence decoded: the best reading, the n best (best first; empty unless asked for), the
    intent probabilities (None without an intent head) and the sentence's typicality (None where not fitted)."""

    best: Reading
    nbest: list[Reading]
    intents: np.ndarray | None
    typicality: float | None


class SlotTagger(Predictor):
    """Tags slots (and the intent, when trained with intents) in raw text."""

    task = "tagger"
    command = "tag"
    metric = "f1"
    OUTPUTS = {"emissions": TOKENS, "transitions": {}, "start": {}, "end": {}, "intents": {0: "batch"}, **Predictor.SENTENCE}
    CALIBRATED = "intents"

    def __init__(self, parts: Parts, backend: Engine):
        super().__init__(parts, backend)
        self.tags = Vocab(parts.labels["tags"], specials=())
        self.intents = Vocab(parts.labels["intents"], specials=()) if parts.labels.get("intents") else None
        crf = parts.config.model.decoder == "crf"
        self.decoder = BioDecoder(self.tags.itos) if crf else SoftmaxDecoder()

    @classmethod
    def outputs(cls, parts: Parts) -> list[str]:
        crf = ["transitions", "start", "end"] if parts.config.model.decoder == "crf" else []
        intents = ["intents", *(["sentence"] if parts.typicality is not None else [])] if parts.labels.get("intents") else []
        return ["emissions", *crf, *intents]

    @property
    def sentence_labels(self) -> list[str] | None:
        return self.intents.itos if self.intents is not None else None

    @classmethod
    def read(cls, config: Config, path: str | Path | list) -> list[TaggedSentence]:
        return read_tagged(path, config.data.format, config.text.latin_in_cjk, config.data.text_column)

    @classmethod
    def label_lists(cls, config: Config, examples: list[TaggedSentence]) -> dict[str, list[str] | None]:
        """Tags (O first), and intents when the intent head is on and every example has one."""
        intents = sorted({e.intent for e in examples}) if config.model.intent_weight > 0 and all(e.intent for e in examples) else None
        check_out_of_scope(config.data.out_of_scope, intents or [])
        return {"tags": ["O", *sorted({t for e in examples for t in e.tags} - {"O"})], "intents": intents}

    @staticmethod
    def stratum(example) -> str:
        """What cross-validation keeps in proportion across folds: the example's intent."""
        return example.intent or ""

    def targets(self, example: TaggedSentence) -> dict[str, np.ndarray | int]:
        targets: dict[str, np.ndarray | int] = {"tags": np.array(self.tags.ids(example.tags), dtype=np.int64)}
        if self.intents is not None:
            targets["intents"] = self.intents.id(example.intent)
        return targets

    @staticmethod
    def _chain(features: Features, scores: dict, temperature: float = 1.0) -> list:
        """The decoder's inputs: the emission scores, the lengths and the CRF's scores, the scores divided by
        `temperature` (a temperature changes probabilities, never the best tags or the order of the n best)."""
        potentials = [scores[name] for name in ("emissions", *CRF_SCORES) if name in scores]
        if temperature != 1.0:
            potentials = [p / temperature for p in potentials]
        return [potentials[0], features.lengths, *potentials[1:]]

    def _decode(self, features: Features, scores: dict, with_scores: bool = False, nbest: int = 0) -> list[Decoded]:
        """Viterbi (or argmax) tags; with `with_scores`, each span's probability (at the slot temperature); with
        `nbest`, the n best readings."""
        lengths = features.lengths
        chain = self._chain(features, scores)
        paths = self.decoder.decode(*chain)
        rows = np.arange(len(lengths))
        lattice = self.decoder.lattice(*self._chain(features, scores, self.parts.slot_temperature)) if with_scores or nbest else None
        best = self._readings(lattice, rows, paths, lengths, with_scores, probability=False)
        alternatives: list[list[Reading]] = [[] for _ in best]
        if nbest:
            candidates, found = self.decoder.nbest(*chain, nbest)
            owners, ranks = np.nonzero(found)
            for owner, reading in zip(owners.tolist(), self._readings(lattice, owners, candidates[owners, ranks], lengths, with_scores)):
                alternatives[owner].append(reading)
        intents = scores["intents"] if "intents" in scores else [None] * len(best)
        typicality = scores["typicality"].tolist() if "typicality" in scores else [None] * len(best)
        return [Decoded(*parts) for parts in zip(best, alternatives, intents, typicality)]

    def _readings(self, lattice, rows: np.ndarray, paths: np.ndarray, lengths: np.ndarray, with_scores: bool,
                  probability: bool = True) -> list[Reading]:
        """The readings of `paths` (R x T tag ids) of sentences `rows`: span scores only `with_scores`, the
        sequence's `probability` (n-best readings)."""
        itos = self.tags.itos
        tags = [[itos[t] for t in row[:n]] for row, n in zip(paths.tolist(), lengths[rows].tolist())]
        found = [spans(t) for t in tags]
        probabilities = np.exp(lattice.path_log_probabilities(rows, paths)).tolist() if probability else [None] * len(tags)
        if not with_scores:
            return [Reading(*parts, None, p) for *parts, p in zip(tags, found, probabilities)]
        owner = np.array([i for i, f in enumerate(found) for _ in f], dtype=np.int64)
        starts = np.array([s.start for f in found for s in f], dtype=np.int64)
        ends = np.array([s.end for f in found for s in f], dtype=np.int64)
        flat = np.exp(lattice.span_log_probabilities(rows[owner], paths[owner], starts, ends)).tolist() if len(owner) else []
        bounds = np.cumsum([0] + [len(f) for f in found]).tolist()
        return [Reading(t, f, flat[a:b], p) for t, f, a, b, p in zip(tags, found, bounds, bounds[1:], probabilities)]

    def predict_tokens(self, token_lists: list[list[str]], with_scores: bool = False, nbest: int = 0) -> list[Decoded]:
        """Each tokenized sentence decoded: the best reading (with span scores `with_scores`), the `nbest`
        best readings, and the intent probabilities."""
        return self._predict(token_lists, lambda features, scores: self._decode(features, scores, with_scores, nbest))

    def token_marginals(self, texts: list[str]) -> list[np.ndarray]:
        """For each text, p(tag | token) under the model: tokens x tags (columns in `self.tags.itos` order),
        rows summing to 1 (the CRF's forward-backward marginals, or a softmax decoder's probabilities)."""
        tokenized = self._tokenized(texts, offsets=False)

        def marginals(features: Features, scores: dict) -> list[np.ndarray]:
            lattice = self.decoder.lattice(*self._chain(features, scores, self.parts.slot_temperature))
            return [row[:n] for row, n in zip(lattice.marginals(), features.lengths.tolist())]

        return self._predict(tokenized, marginals)

    def tag(self, text: str, ranking: int = 0, nbest: int = 0, scores: bool = True, fallback: Fallback | None = None) -> dict:
        """`{"text", "tokens", "tags", "slots": [{"label", "text", "start", "end", "score"}]}` (+ "intent",
        "typicality", "fallback", "nbest")."""
        return self.tag_batch([text], ranking, nbest, scores, fallback)[0]

    def tag_batch(self, texts: list[str], ranking: int = 0, nbest: int = 0, scores: bool = True,
                  fallback: Fallback | None = None) -> list[dict]:
        """`tag` for each text. `ranking` > 0 adds the best `ranking` intents to each "intent"; `nbest` (1 to
        20) adds "nbest", the most probable tag sequences, best first: `{"tags", "slots", "probability"}`.
        A slot's "score" is the probability that its tokens carry exactly its tags (the CRF's marginal,
        the span ending there; without a CRF, the product of its tokens' probabilities); `scores=False`
        leaves scores out, for speed. With an intent head, "intent" is the fallback intent where `fallback` (default:
        the model's thresholds) says so, and "fallback" holds why and the model's best intent (scope.Fallback.answer)."""
        if isinstance(nbest, bool) or not isinstance(nbest, int) or not 0 <= nbest <= MAX_NBEST:
            raise SlotfillError(f"nbest must be an integer from 1 to {MAX_NBEST} (0: none), not {nbest!r}")
        tokenized = self._tokenized(texts)
        decoded = self.predict_tokens([[t.text for t in tokens] for tokens in tokenized], scores, nbest)
        answers = [None] * len(decoded)
        if self.intents is not None and decoded:
            typicality = np.array([d.typicality for d in decoded]) if decoded[0].typicality is not None else None
            answers = self.fallbacks(np.stack([d.intents for d in decoded]), typicality, fallback)
        return [self._tagged(*parts, ranking) for parts in zip(texts, tokenized, decoded, answers)]

    predict_batch = tag_batch

    def _slots(self, text: str, tokens: list[Token], reading: Reading) -> list[dict]:
        """A reading's slots; each slot's `value` is the canonical value of its text where the training data
        named it a synonym (case-insensitively), else its text."""
        slots, synonyms = [], self.parts.synonyms
        for k, span in enumerate(reading.spans):
            start, end = tokens[span.start].start, tokens[span.end - 1].end
            found = text[start:end]
            slots.append({"label": span.label, "text": found, "start": start, "end": end,
                          "value": synonyms.get(found.lower(), found)})
            if reading.scores is not None:
                slots[-1]["score"] = reading.scores[k]
        return slots

    def _tagged(self, text: str, tokens: list[Token], decoded: Decoded, answer: dict | None, ranking: int) -> dict:
        result = {"text": text, "tokens": [t.text for t in tokens], "tags": decoded.best.tags,
                  "slots": self._slots(text, tokens, decoded.best)}
        probs = decoded.intents
        if probs is not None:
            best = int(probs.argmax())
            result["intent"] = {"label": self.intents.itos[best], "score": float(probs[best])}
            if ranking > 0:
                top = np.argsort(-probs, kind="stable")[:ranking]
                result["intent"]["ranking"] = [{"label": self.intents.itos[i], "score": float(probs[i])} for i in top]
            if decoded.typicality is not None:
                result["typicality"] = decoded.typicality
            if answer is not None:
                result = self.fall_back(result, answer)
        if decoded.nbest:
            result["nbest"] = [{"tags": r.tags, "slots": self._slots(text, tokens, r), "probability": r.probability}
                               for r in decoded.nbest]
        return result

    def fit_token_calibration(self, sentences: list[TaggedSentence]) -> dict:
        """The slot temperature: the one that minimises the NLL of the gold tag sequences of `sentences` (dev
        data) under the decoder's scores divided by it; sentences with tags the model lacks are left out. Where
        every sentence's best tags are its gold tags, the NLL only falls as T falls, which says nothing of how
        sure the model should be: 1."""
        known = [s for s in sentences if all(t in self.tags.stoi for t in s.tags)]
        batches, wrong = [], False
        for k in range(0, len(known), BATCH_SIZE):
            chunk = known[k:k + BATCH_SIZE]
            features = self.featurizer.batch([s.tokens for s in chunk])
            paths = np.zeros((len(chunk), int(features.lengths.max())), dtype=np.int64)
            for i, s in enumerate(chunk):
                paths[i, :len(s.tags)] = self.tags.ids(s.tags)
            batches.append((features, self._scores(features), paths))
            within = np.arange(paths.shape[1]) < features.lengths[:, None]
            wrong = wrong or ((self.decoder.decode(*self._chain(features, batches[-1][1])) != paths) & within).any()

        def loss(temperature: float) -> float:
            total = 0.0
            for features, scores, paths in batches:
                log_p = self.decoder.lattice(*self._chain(features, scores, temperature)).path_log_probabilities(np.arange(len(paths)), paths)
                total -= log_p[np.isfinite(log_p)].sum()  # a gold sequence BIO forbids says nothing of the scale
            return total

        return {"slot_temperature": round(search(loss), 4) if wrong else 1.0}

    def fall_back(self, result: dict, answer: dict) -> dict:
        return {**result, "intent": {**result["intent"], "label": FALLBACK, "score": answer["score"]}, "fallback": answer}

    def evaluate(self, sentences: list[TaggedSentence], errors: int | None = None, confidence: bool = True,
                 fallback: Fallback | None = None) -> dict:
        """conlleval span metrics and the calibration of the slot scores ("slot_calibration"), with intent and
        sentence accuracy, the calibration of the intent confidences and how the fallback (`fallback`, default the
        model's) tells out-of-scope sentences from the rest ("scope") when the model has an intent head; with
        `errors`, also the error analysis ("errors", with up to `errors` sentences) and the per-intent figures."""
        predicted = self.predict_tokens([s.tokens for s in sentences], with_scores=confidence)
        gold_tags, pred_tags = [s.tags for s in sentences], [d.best.tags for d in predicted]
        joint = self.intents is not None and all(s.intent for s in sentences)
        gold_intents = [s.intent for s in sentences]
        intents = [self.intents.itos[int(d.intents.argmax())] for d in predicted] if joint else None
        result = joint_metrics(gold_tags, pred_tags, gold_intents, intents) if joint else span_metrics(gold_tags, pred_tags)
        if confidence:
            result["slot_calibration"] = span_reliability(gold_tags, [(d.best.spans, d.best.scores) for d in predicted])
        if joint and confidence:
            probabilities = np.stack([d.intents for d in predicted])
            result["calibration"] = summary(probabilities, [g == p for g, p in zip(gold_intents, intents)], self.parts.temperature)
            typicality = np.array([d.typicality for d in predicted]) if predicted[0].typicality is not None else None
            result["scope"] = self.scope_metrics(gold_intents, probabilities, typicality, fallback)
        if errors is not None:
            least = [min(d.best.scores, default=None) for d in predicted] if confidence else None
            result["errors"] = span_errors([s.tokens for s in sentences], gold_tags, pred_tags, errors,
                                           (gold_intents, intents) if joint else None, least)
            if joint:
                result["errors"]["confusions"] = confusions(gold_intents, intents)
                result["intents"] = classification_metrics(gold_intents, intents, sorted(set(self.intents.itos) | set(gold_intents)))
        return result

    def format_result(self, result: dict) -> str:
        lines = [result["text"]]
        width = max([len(s["label"]) for s in result["slots"]] + [6])
        if "intent" in result:
            fallback = result.get("fallback")
            guess = f"  {fallback['reason']}; best guess {fallback['label']} ({fallback['guess']:.2f})" if fallback else ""
            lines.append(f"  {'intent':<{width}}  {result['intent']['label']} ({result['intent']['score']:.2f}){guess}")
        for s in result["slots"]:
            lines.append(f"  {s['label']:<{width}}  {s['text']}  [{s['start']}:{s['end']}]" + (f"  {s['score']:.2f}" if "score" in s else ""))
        if not result["slots"]:
            lines.append("  (no slots)")
        for rank, reading in enumerate(result.get("nbest", []), start=1):
            described = " | ".join(f"{s['label']}: {s['text']}" for s in reading["slots"]) or "(no slots)"
            p = reading["probability"]
            lines.append(f"  #{rank}  {p:.3f}  {described}" if p >= 5e-4 else f"  #{rank}  {p:.1e}  {described}")
        return "\n".join(lines)

    def format_metrics(self, metrics: dict) -> str:
        return format_span_table(metrics) + span_summary_line(metrics) + summary_line(metrics, "intent") + format_metrics(metrics.get("scope"))

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
        intent, fallback = result.get("intent"), result.get("fallback")
        if not intent:
            return [], result["slots"]
        guess = [{"label": fallback["label"], "score": fallback["guess"]}] if fallback else [intent]
        return ranked_with(fallback, intent.get("ranking") or guess), result["slots"]
