"""Training: the loop (any Predictor's model), and `train(config, output)` from data to model directory."""

from __future__ import annotations

import copy
import logging
import os
import random
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .config import Config, TrainConfig
from .errors import SlotfillError
from .predict import Predictor, SentimentClassifier, SlotTagger
from .readers import read_labelled, read_tagged

log = logging.getLogger("slotfill")


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def choose_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise SlotfillError("train.device = 'cuda' but no CUDA device is available")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def set_threads(threads: int) -> None:
    """Use `threads` CPU threads, or one per core up to 4 when 0."""
    torch.set_num_threads(threads or max(1, min(4, len(os.sched_getaffinity(0)))))


def _metric_name(config: Config) -> str:
    if config.train.metric != "auto":
        return config.train.metric
    return "f1" if config.task == "tagger" else "accuracy"


def length_batches(lengths: list[int], batch_size: int, rng: random.Random, pool: int = 50) -> list[list[int]]:
    """Random batches of similar lengths: shuffle, sort within pools of `pool` batches, cut, shuffle
    the batches. Each batch then runs about as many RNN and CRF steps as its sentences have tokens."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    step = batch_size * pool
    batches = []
    for k in range(0, len(order), step):
        chunk = sorted(order[k:k + step], key=lambda i: lengths[i])
        batches += [chunk[j:j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


class WeightAverage:
    """An exponential moving average of a model's floating-point weights (Polyak averaging)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        state = model.state_dict()
        for name, average in self.average.items():
            average.lerp_(state[name], 1 - self.decay)

    def swapped_in(self, model: torch.nn.Module) -> dict:
        """Load the averages into `model`; returns the live weights to restore afterwards."""
        live = copy.deepcopy(model.state_dict())
        model.load_state_dict(self.average, strict=False)
        return live


def _train_epoch(predictor: Predictor, batches, optimizer, clip: float, average: WeightAverage | None) -> float:
    """One pass over `batches` (lists of examples); returns the mean loss per example."""
    model = predictor.model
    model.train()
    total = count = 0
    for examples in batches:
        loss = model.loss(predictor.batch(examples).to(predictor.device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        if average is not None:
            average.update(model)
        total += loss.item() * len(examples)
        count += len(examples)
    return total / count


def fit(predictor: Predictor, train: list, dev: list, config: TrainConfig, metric: str, output: Path) -> dict:
    """Adam with gradient clipping, LR decay on plateau and early stopping on the dev `metric`;
    every new best is saved to `output` at once, so an interruption keeps it. Returns the history."""
    model = predictor.model
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=config.lr_decay, patience=config.lr_patience)
    shuffler = random.Random(config.seed)
    lengths = [len(example.tokens) for example in train]
    history: dict = {"metric": metric, "epochs": [], "best_epoch": None, "best": None}
    best_state, waited = None, 0
    average = WeightAverage(model, config.ema) if config.ema > 0 else None
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        batches = tqdm(length_batches(lengths, config.batch_size, shuffler), desc=f"epoch {epoch}",
                       leave=False, disable=None, file=sys.stderr)
        loss = _train_epoch(predictor, ([train[i] for i in b] for b in batches), optimizer, config.clip, average)
        live = average.swapped_in(model) if average is not None else None
        scores = predictor.evaluate(dev)
        if metric not in scores:
            raise SlotfillError(f"train.metric = {metric!r} is not measured for this model (measured: {', '.join(k for k in scores if isinstance(scores[k], float))})")
        improved = history["best"] is None or scores[metric] > history["best"]
        entry = {
            "epoch": epoch,
            "loss": loss,
            "dev": {k: v for k, v in scores.items() if isinstance(v, float)},
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(time.perf_counter() - started, 2),
        }
        history["epochs"].append(entry)
        log.info(
            f"epoch {epoch:>2}/{config.epochs}  loss {entry['loss']:.4f}  dev {predictor.summary(scores)}"
            f"  lr {entry['lr']:.2g}  {entry['seconds']:.1f}s{'  *' if improved else ''}"
        )
        if improved:
            history["best"], history["best_epoch"], waited = scores[metric], epoch, 0
            best_state = copy.deepcopy(model.state_dict())
            predictor.save(output, {"history": history})
        else:
            waited += 1
        if live is not None:
            model.load_state_dict(live)
        scheduler.step(scores[metric])
        if waited >= config.patience:
            log.info(f"no better dev {metric} for {waited} epochs: stopping")
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def read_split(config: Config, path: str) -> list:
    data, latin_in_cjk = config.data, config.text.latin_in_cjk
    if config.task == "tagger":
        return read_tagged(path, data.format, latin_in_cjk)
    return read_labelled(path, data.format, data.text_column, data.label_column, latin_in_cjk)


def train(config: Config, output: str | Path) -> tuple[Predictor, dict]:
    """Train the configured model, keep the best checkpoint in `output`, and return it with its metrics."""
    if not config.data.train:
        raise SlotfillError("no training data: set data.train in the config or with --set data.train=PATH")
    set_seed(config.train.seed)
    set_threads(config.train.threads)
    output = Path(output)
    train_set = read_split(config, config.data.train)
    if config.data.dev:
        dev_set = read_split(config, config.data.dev)
    else:  # hold out a tenth of the training data for early stopping
        shuffled = train_set[:]
        random.Random(config.train.seed).shuffle(shuffled)
        cut = max(1, len(shuffled) // 10)
        dev_set, train_set = shuffled[:cut], shuffled[cut:]
        log.info(f"no data.dev: holding out {cut} training sentences for early stopping")
    kind = SlotTagger if config.task == "tagger" else SentimentClassifier
    predictor = kind.create(config, train_set)
    if "word2vec" in config.model.embeddings:
        _initialise_word2vec(predictor, config, train_set)
    predictor.model.to(choose_device(config.train.device))
    params = sum(p.numel() for p in predictor.model.parameters())
    log.info(f"{len(train_set)} training and {len(dev_set)} dev sentences; vocabulary {len(predictor.featurizer.words)}; {params:,} parameters")
    started = time.perf_counter()
    try:
        history = fit(predictor, train_set, dev_set, config.train, _metric_name(config), output)
    except KeyboardInterrupt:
        if (output / "weights.pt").exists():
            log.info(f"interrupted: the best model so far is in {output}")
        raise
    metrics = {"history": history, "train_seconds": round(time.perf_counter() - started, 1)}
    if config.data.test:
        metrics["test"] = predictor.evaluate(read_split(config, config.data.test))
        log.info(f"test {predictor.summary(metrics['test'])}")
    predictor.save(output, metrics)
    return predictor, metrics


def _initialise_word2vec(predictor: Predictor, config: Config, train_set: list) -> None:
    from .w2v import initialise, word2vec_for

    featurizer = predictor.featurizer
    sentences = [[featurizer.form(t) for t in e.tokens] for e in train_set]
    w2v = config.model.word2vec
    vectors = word2vec_for(w2v, sentences, config.vocab.lowercase, config.vocab.normalize_digits, config.train.seed)
    table = predictor.model.encoder.representation.parts["word2vec"].table
    coverage = initialise(table, featurizer.words, vectors, w2v.freeze)
    log.info(f"word2vec: vectors for {100 * coverage:.1f}% of the vocabulary ({'frozen' if w2v.freeze else 'fine-tuned'})")
