"""The library API: SlotTagger and SentimentClassifier, created, trained, saved, loaded and applied."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch

from . import storage
from .config import Config, config_from_dict, config_to_dict
from .errors import SlotfillError
from .features import Batch, Featurizer, build_featurizer
from .metrics import classification_metrics, joint_metrics, span_metrics
from .models import Classifier, Tagger, build_encoder
from .readers import LabelledText, TaggedSentence
from .tags import spans
from .text import Token, tokenize
from .vocab import Vocab

log = logging.getLogger("slotfill")
BATCH_SIZE = 512


def _tokens(text: str, where: str = "text", latin_in_cjk: str = "word") -> list[Token]:
    tokens = tokenize(text, lowercase=False, latin_in_cjk=latin_in_cjk)
    if not tokens:
        raise SlotfillError(f"{where}: empty sentence")
    return tokens


class Predictor:
    """What the two tasks share: featurizer + model + label vocabularies, saving, batched prediction."""

    task = ""
    engine = "torch"

    def __init__(self, config: Config, featurizer: Featurizer, model: torch.nn.Module):
        self.config, self.featurizer, self.model = config, featurizer, model
        self.model.eval()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def labels_json(self) -> dict:
        raise NotImplementedError

    def save(self, directory: str | Path, metrics: dict | None = None) -> None:
        vocab = {"featurizer": self.featurizer.to_json(), **self.labels_json()}
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        storage.save_model(directory, config_to_dict(self.config), vocab, state, metrics)

    @classmethod
    def load(cls, directory: str | Path) -> Predictor:
        """Load a model directory written by `save` (or `slotfill train`)."""
        raw_config, vocab, state = storage.load_model(directory)
        try:
            config = config_from_dict(raw_config)
            featurizer = Featurizer.from_json(vocab["featurizer"])
        except (SlotfillError, KeyError, TypeError) as err:
            raise SlotfillError(f"corrupt model directory ({err})", directory) from None
        wanted = PREDICTORS.get(config.task)
        if cls is not Predictor and wanted is not cls:
            raise SlotfillError(f"this is a {config.task} model; load it with {wanted.__name__}", directory)
        try:
            predictor = wanted._from_parts(config, featurizer, vocab)
            predictor.model.load_state_dict(state)
        except (KeyError, TypeError, RuntimeError) as err:
            raise SlotfillError(f"the weights do not match the model's config ({str(err).splitlines()[0]})", directory) from None
        predictor.model.eval()
        return predictor

    def batch(self, examples: list) -> Batch:
        """Features and targets of training examples."""
        raise NotImplementedError

    def _predict(self, token_lists: list[list[str]], run: Callable[[Batch], list]) -> list:
        """`run` over length-sorted batches, results back in input order; one thread for one sentence."""
        order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
        results: list = [None] * len(token_lists)
        threads = torch.get_num_threads()
        if len(token_lists) == 1:
            torch.set_num_threads(1)
        self.model.eval()
        try:
            for k in range(0, len(order), BATCH_SIZE):
                chunk = order[k:k + BATCH_SIZE]
                batch = self.featurizer.batch([token_lists[i] for i in chunk]).to(self.device)
                for i, result in zip(chunk, run(batch)):
                    results[i] = result
        finally:
            torch.set_num_threads(threads)
        return results


class SlotTagger(Predictor):
    """Tags slots (and the intent, when trained with intents) in raw text."""

    task = "tagger"

    def __init__(self, config: Config, featurizer: Featurizer, model: Tagger, tags: Vocab, intents: Vocab | None):
        super().__init__(config, featurizer, model)
        self.tags, self.intents = tags, intents

    @classmethod
    def _from_parts(cls, config: Config, featurizer: Featurizer, vocab: dict) -> SlotTagger:
        tags = Vocab(vocab["tags"], specials=())
        intents = Vocab(vocab["intents"], specials=()) if vocab.get("intents") else None
        model = Tagger(build_encoder(config.model, featurizer), tags.itos, config.model, len(intents) if intents else 0)
        return cls(config, featurizer, model, tags, intents)

    @classmethod
    def create(cls, config: Config, sentences: list[TaggedSentence]) -> SlotTagger:
        """An untrained tagger whose vocabularies come from `sentences`."""
        featurizer = build_featurizer([s.tokens for s in sentences], config.vocab, config.model.embeddings, config.model.hashed.buckets)
        tags = sorted({t for s in sentences for t in s.tags} - {"O"})
        vocab = {"tags": ["O", *tags]}
        if config.model.intent_weight > 0 and all(s.intent for s in sentences):
            vocab["intents"] = sorted({s.intent for s in sentences})
        return cls._from_parts(config, featurizer, vocab)

    def labels_json(self) -> dict:
        return {"tags": self.tags.itos, "intents": self.intents.itos if self.intents else None}

    def batch(self, sentences: list[TaggedSentence]) -> Batch:
        batch = self.featurizer.batch([s.tokens for s in sentences])
        batch.tags = torch.zeros_like(batch.words)
        for i, s in enumerate(sentences):
            batch.tags[i, : len(s.tags)] = torch.tensor(self.tags.ids(s.tags))
        if self.intents is not None:
            batch.intents = torch.tensor(self.intents.ids(s.intent for s in sentences))
        return batch

    def predict_tokens(self, token_lists: list[list[str]]) -> list[tuple[list[str], str | None, float | None]]:
        """(tags, intent, intent probability) for each tokenized sentence."""

        def run(batch: Batch) -> list:
            tag_ids, intent_probs = self.model.predict(batch)
            tag_ids = tag_ids.cpu().tolist()
            out = []
            for i, n in enumerate(batch.lengths.tolist()):
                tags = [self.tags.itos[t] for t in tag_ids[i][:n]]
                if intent_probs is None:
                    out.append((tags, None, None))
                else:
                    score, best = intent_probs[i].max(dim=0)
                    out.append((tags, self.intents.itos[int(best)], float(score)))
            return out

        return self._predict(token_lists, run)

    def tag(self, text: str) -> dict:
        """`{"text", "tokens", "tags", "slots": [{"label", "text", "start", "end"}]}` (+ "intent")."""
        return self.tag_batch([text])[0]

    def tag_batch(self, texts: list[str]) -> list[dict]:
        tokenized = [_tokens(text, f"sentence {i + 1}", self.config.text.latin_in_cjk) for i, text in enumerate(texts)]
        results = self.predict_tokens([[t.text for t in tokens] for tokens in tokenized])
        return [_tagged(text, tokens, *result) for text, tokens, result in zip(texts, tokenized, results)]

    def evaluate(self, sentences: list[TaggedSentence]) -> dict:
        """conlleval span metrics (with intent and sentence accuracy when the model has an intent head)."""
        predicted = self.predict_tokens([s.tokens for s in sentences])
        gold_tags, pred_tags = [s.tags for s in sentences], [p[0] for p in predicted]
        if self.intents is None or not all(s.intent for s in sentences):
            return span_metrics(gold_tags, pred_tags)
        return joint_metrics(gold_tags, pred_tags, [s.intent for s in sentences], [p[1] for p in predicted])

    @staticmethod
    def summary(metrics: dict) -> str:
        line = f"P {100 * metrics['precision']:.2f} R {100 * metrics['recall']:.2f} F1 {100 * metrics['f1']:.2f}"
        if "intent_accuracy" in metrics:
            line += f" intent {100 * metrics['intent_accuracy']:.2f} sentence {100 * metrics['sentence_accuracy']:.2f}"
        return line


def _tagged(text: str, tokens: list[Token], tags: list[str], intent: str | None, score: float | None) -> dict:
    slots = []
    for span in spans(tags):
        start, end = tokens[span.start].start, tokens[span.end - 1].end
        slots.append({"label": span.label, "text": text[start:end], "start": start, "end": end})
    result = {"text": text, "tokens": [t.text for t in tokens], "tags": tags, "slots": slots}
    if intent is not None:
        result["intent"] = {"label": intent, "score": score}
    return result


class SentimentClassifier(Predictor):
    """Labels whole sentences (sentiment or any other classes) with probabilities."""

    task = "classifier"

    def __init__(self, config: Config, featurizer: Featurizer, model: Classifier, labels: Vocab):
        super().__init__(config, featurizer, model)
        self.labels = labels

    @classmethod
    def _from_parts(cls, config: Config, featurizer: Featurizer, vocab: dict) -> SentimentClassifier:
        labels = Vocab(vocab["labels"], specials=())
        return cls(config, featurizer, Classifier(build_encoder(config.model, featurizer), len(labels), config.model), labels)

    @classmethod
    def create(cls, config: Config, examples: list[LabelledText]) -> SentimentClassifier:
        """An untrained classifier whose vocabularies and classes come from `examples`."""
        featurizer = build_featurizer([e.tokens for e in examples], config.vocab, config.model.embeddings, config.model.hashed.buckets)
        labels = sorted({e.label for e in examples})
        if len(labels) < 2:
            raise SlotfillError(f"the training data has one class ({labels[0]!r}); a classifier needs two or more")
        classifier = cls._from_parts(config, featurizer, {"labels": labels})
        if config.train.class_weights:
            counts = torch.bincount(torch.tensor(classifier.labels.ids(e.label for e in examples)), minlength=len(labels))
            classifier.model.class_weights.copy_(counts.sum() / (len(labels) * counts.float()))
        return classifier

    def labels_json(self) -> dict:
        return {"labels": self.labels.itos}

    def batch(self, examples: list[LabelledText]) -> Batch:
        batch = self.featurizer.batch([e.tokens for e in examples])
        batch.labels = torch.tensor(self.labels.ids(e.label for e in examples))
        return batch

    def predict_tokens(self, token_lists: list[list[str]]) -> list[dict[str, float]]:
        """Class probabilities for each tokenized sentence."""
        return self._predict(
            token_lists,
            lambda batch: [dict(zip(self.labels.itos, row)) for row in self.model.predict(batch).cpu().tolist()],
        )

    def classify(self, text: str) -> dict:
        """`{"text", "label", "scores": {label: probability}}`."""
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: list[str]) -> list[dict]:
        tokenized = [[t.text for t in _tokens(text, f"sentence {i + 1}", self.config.text.latin_in_cjk)] for i, text in enumerate(texts)]
        return [
            {"text": text, "label": max(scores, key=scores.get), "scores": scores}
            for text, scores in zip(texts, self.predict_tokens(tokenized))
        ]

    def evaluate(self, examples: list[LabelledText]) -> dict:
        """Accuracy, macro-F1, per-class figures and the confusion matrix."""
        predicted = [max(s, key=s.get) for s in self.predict_tokens([e.tokens for e in examples])]
        gold = [e.label for e in examples]
        return classification_metrics(gold, predicted, sorted(set(self.labels.itos) | set(gold)))

    @staticmethod
    def summary(metrics: dict) -> str:
        return f"accuracy {100 * metrics['accuracy']:.2f} macro-F1 {100 * metrics['macro_f1']:.2f}"


PREDICTORS: dict[str, type[Predictor]] = {"tagger": SlotTagger, "classifier": SentimentClassifier}


ENGINES = ("auto", "onnx", "torch")


def load(directory: str | Path, engine: str = "auto") -> Predictor:
    """Load any model directory: a SlotTagger or a SentimentClassifier, as its config says.
    `engine`: "onnx" (model.onnx, no PyTorch), "torch", or "auto" (ONNX when usable)."""
    if engine not in ENGINES:
        raise SlotfillError(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if engine == "onnx":
        raise SlotfillError("the ONNX engine is not available yet", directory)
    return Predictor.load(directory)
