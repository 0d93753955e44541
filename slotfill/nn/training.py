"""Training: the loop (any Predictor's model), and `train(config, output)` from data to a model directory
with weights.pt and model.onnx."""

from __future__ import annotations

import logging
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .. import storage
from ..config import Config, TrainConfig, config_to_dict
from ..errors import SlotfillError
from ..features import Encoded, Featurizer
from ..predict import Predictor
from ..readers import read_split
from . import checkpoint
from .batch import Batch
from .distributed import Cluster, join, leave
from .engine import assemble, create, save, weights_bytes

log = logging.getLogger("slotfill")


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def device_type(name: str) -> str:
    """"cuda" or "cpu" for `train.device`."""
    if name == "cuda" and not torch.cuda.is_available():
        raise SlotfillError("train.device = 'cuda' but no CUDA device is available")
    return "cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu"


def set_threads(threads: int) -> None:
    """Use `threads` CPU threads, or one when 0: a batch of a few sentences is too small for more to pay,
    and a thread waiting on a busy core slows every step (run processes with torchrun to use more cores)."""
    torch.set_num_threads(threads or 1)


def amp_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """The autocast type for `train.amp` on `device`: auto is bf16 (fp16 where unsupported) on CUDA, none on the CPU."""
    if setting == "off" or (setting == "auto" and device.type != "cuda"):
        return None
    if setting == "fp16" and device.type != "cuda":
        raise SlotfillError("train.amp = 'fp16' needs a CUDA device (use 'bf16' or 'off' on the CPU)")
    if setting == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if setting == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


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
        state = model.state_dict()
        self.average = {k: v.detach().clone() for k, v in state.items() if v.is_floating_point()}
        self._averages = list(self.average.values())
        self._live = [state[k] for k in self.average]  # views of the live weights, which train in place

    @torch.no_grad()
    def update(self) -> None:
        torch._foreach_lerp_(self._averages, self._live, 1 - self.decay)

    def swapped_in(self, model: torch.nn.Module) -> dict:
        """Load the averages into `model`; returns the live weights to restore afterwards."""
        live = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.average, strict=False)
        return live


class _Loss(torch.nn.Module):
    """The model's training loss as `forward`, which DistributedDataParallel hooks."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.model.loss(batch)


@dataclass
class Example:
    """A training example as ids, encoded once: batches only pad them."""

    encoded: Encoded
    targets: dict[str, np.ndarray | int]  # "tags" (T ids), "intents" or "labels" (an id)


def encode_examples(predictor: Predictor, examples: list) -> list[Example]:
    """TaggedSentences or LabelledTexts as Examples."""
    featurizer = predictor.featurizer
    if predictor.task == "classifier":
        labels = predictor.labels.ids(e.label for e in examples)
        return [Example(featurizer.encode(e.tokens), {"labels": label}) for e, label in zip(examples, labels)]
    encoded = []
    for e in examples:
        targets = {"tags": np.array(predictor.tags.ids(e.tags), dtype=np.int64)}
        if predictor.intents is not None:
            targets["intents"] = predictor.intents.id(e.intent)
        encoded.append(Example(featurizer.encode(e.tokens), targets))
    return encoded


def training_batch(predictor: Predictor, examples: list[Example], device: torch.device) -> Batch:
    """Features and targets of a batch of examples, padded."""
    features = predictor.featurizer.pad([e.encoded for e in examples])
    targets = {}
    for name in examples[0].targets:
        if name == "tags":
            tags = np.zeros(features.words.shape, dtype=np.int64)
            for i, e in enumerate(examples):
                tags[i, : len(e.targets["tags"])] = e.targets["tags"]
            targets["tags"] = torch.from_numpy(tags)
        else:
            targets[name] = torch.tensor([e.targets[name] for e in examples])
    return Batch.of(features, device, **targets)


@dataclass
class Trainer:
    """The training state of one process: network (maybe DDP-wrapped), optimizer, schedule, averaging, mixed precision."""

    predictor: Predictor
    config: TrainConfig
    cluster: Cluster
    device: torch.device
    train: list  # the training examples
    amp: torch.dtype | None = None

    def __post_init__(self):
        model = self.predictor.model
        self.examples = encode_examples(self.predictor, self.train)
        self.lengths = [len(e.encoded.forms) for e in self.examples]
        self.network = self.cluster.wrap(_Loss(model))
        # fused Adam: one kernel for all parameters, 5-7x faster than the per-parameter loop on large embedding tables
        self.optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=self.config.lr,
                                          weight_decay=self.config.weight_decay, fused=True)
        self.scheduler = self._scheduler()
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)
        self.average = WeightAverage(model, self.config.ema) if self.config.ema > 0 else None
        self.shuffler = random.Random(self.config.seed)

    def _scheduler(self) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau:
        if self.config.schedule == "plateau":  # stepped once an epoch, with the dev score
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="max", factor=self.config.lr_decay, patience=self.config.lr_patience)
        steps = len(self.cluster.shard(length_batches(self.lengths, self.config.batch_size, random.Random(0))))
        total = max(1, self.config.epochs * steps)
        return torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))

    def epoch(self, label: str) -> float:
        """One pass over this process's share of the batches; returns the mean loss per example over all processes."""
        model = self.predictor.model
        model.train()
        batches = self.cluster.shard(length_batches(self.lengths, self.config.batch_size, self.shuffler))
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        count = 0
        for indexes in tqdm(batches, desc=label, leave=False, disable=None if self.cluster.main else True, file=sys.stderr):
            examples = [self.examples[i] for i in indexes]
            with autocast(self.device, self.amp):
                loss = self.network(training_batch(self.predictor, examples, self.device))
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.config.clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.config.schedule != "plateau":
                self.scheduler.step()
            if self.average is not None:
                self.average.update()
            total += loss.detach() * len(examples)
            count += len(examples)
        total, count = self.cluster.sum(total.item(), count)
        return total / count

    def state(self, epoch: int, waited: int, history: dict, data: str) -> dict | None:
        """What checkpoint.pt holds, on rank 0 (None elsewhere); the random streams of every process are gathered."""
        streams = self.cluster.gather({"torch": torch.get_rng_state(), "random": checkpoint.random_state(random),
                                       "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None})
        if not self.cluster.main:
            return None
        model = self.predictor.model
        return {
            "format": checkpoint.FORMAT, "config": config_to_dict(self.predictor.config), "data": data, "world": self.cluster.world,
            "epoch": epoch, "waited": waited, "history": history,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "average": {k: v.cpu() for k, v in self.average.average.items()} if self.average is not None else None,
            "shuffler": checkpoint.random_state(self.shuffler),
            "random": [s["random"] for s in streams], "torch_rng": [s["torch"] for s in streams],
            "cuda_rng": [s["cuda"] for s in streams] if self.device.type == "cuda" else None,
        }

    def restore(self, saved: dict) -> None:
        """Continue from a checkpoint's state (its world size was checked against this run's)."""
        self.predictor.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        self.scaler.load_state_dict(saved["scaler"])
        if self.average is not None:
            for name, value in saved["average"].items():
                self.average.average[name].copy_(value)
        checkpoint.set_random_state(self.shuffler, saved["shuffler"])
        checkpoint.set_random_state(random, saved["random"][self.cluster.rank])
        torch.set_rng_state(saved["torch_rng"][self.cluster.rank])
        if self.device.type == "cuda" and saved["cuda_rng"] is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"][self.cluster.rank], self.device)


def fit(trainer: Trainer, dev: list, metric: str, output: Path, saved: dict | None = None, data: str = "") -> dict:
    """Adam with gradient clipping, the configured LR schedule and early stopping on the dev `metric`. Every epoch
    rank 0 writes checkpoint.pt, and every new best model at once, so an interruption keeps both; `saved`
    (a checkpoint) continues an interrupted run. Returns the history; the model ends with the best weights."""
    predictor, config, cluster = trainer.predictor, trainer.config, trainer.cluster
    model = predictor.model
    history: dict = {"metric": metric, "epochs": [], "best_epoch": None, "best": None}
    first, waited = 1, 0
    if saved is not None:
        trainer.restore(saved)
        first, waited, history = saved["epoch"] + 1, saved["waited"], saved["history"]
    for epoch in range(first, config.epochs + 1):
        if waited >= config.patience:
            break  # a resumed run that had stopped early
        started = time.perf_counter()
        loss = trainer.epoch(f"epoch {epoch}")
        live = trainer.average.swapped_in(model) if trainer.average is not None else None

        def evaluate() -> dict:
            with autocast(trainer.device, trainer.amp):
                scores = predictor.evaluate(dev)
            if metric not in scores:
                raise SlotfillError(f"train.metric = {metric!r} is not measured for this model (measured: {', '.join(k for k in scores if isinstance(scores[k], float))})")
            entry = {"epoch": epoch, "loss": loss, "dev": {k: v for k, v in scores.items() if isinstance(v, float)},
                     "lr": trainer.optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 2)}
            improved = history["best"] is None or scores[metric] > history["best"]
            log.info(f"epoch {epoch:>2}/{config.epochs}  loss {loss:.4f}  dev {predictor.summary(scores)}"
                     f"  lr {entry['lr']:.2g}  {entry['seconds']:.1f}s{'  *' if improved else ''}")
            return entry

        entry = cluster.from_main(evaluate)
        history["epochs"].append(entry)
        score, best_weights = entry["dev"][metric], None
        if history["best"] is None or score > history["best"]:
            history["best"], history["best_epoch"], waited = score, epoch, 0
            best_weights = weights_bytes(model) if cluster.main else None  # the evaluated (maybe averaged) weights
        else:
            waited += 1
        if live is not None:
            model.load_state_dict(live)
        if config.schedule == "plateau":
            trainer.scheduler.step(score)
        state = trainer.state(epoch, waited, history, data)
        if state is not None:
            state_bytes = checkpoint.to_bytes(state)
            if best_weights is not None:
                save(predictor, output, {"history": history}, best_weights, {checkpoint.CHECKPOINT: state_bytes})
            else:
                storage.write_atomic(output / checkpoint.CHECKPOINT, state_bytes)
        if waited >= config.patience:
            log.info(f"no better dev {metric} for {waited} epochs: stopping")
            break
    if cluster.main and history["best_epoch"] is not None:  # the best model, as saved
        model.load_state_dict(checkpoint.load_tensors(output / storage.WEIGHTS, "weights"))
    model.eval()
    return history


def _read_data(config: Config) -> tuple[list, list]:
    train_set = read_split(config, config.data.train)
    if config.data.dev:
        return train_set, read_split(config, config.data.dev)
    shuffled = train_set[:]  # hold out a tenth of the training data for early stopping
    random.Random(config.train.seed).shuffle(shuffled)
    cut = max(1, len(shuffled) // 10)
    log.info(f"no data.dev: holding out {cut} training sentences for early stopping")
    return shuffled[cut:], shuffled[:cut]


def _same_everywhere(cluster: Cluster, config: Config) -> tuple[list, list, str]:
    """Read the data in every process, and stop all of them (rank 0 saying why) unless they agree."""
    try:
        train_set, dev_set = _read_data(config)
        mine = {"config": config_to_dict(config), "train": checkpoint.fingerprint(train_set), "dev": checkpoint.fingerprint(dev_set)}
    except SlotfillError as err:
        train_set, dev_set, mine = [], [], {"error": str(err)}
    everyone = cluster.gather(mine)
    for rank, theirs in enumerate(everyone):
        if "error" in theirs:
            cluster.stop(theirs["error"] if cluster.world == 1 else f"rank {rank}: {theirs['error']}")
    for rank, theirs in enumerate(everyone):
        differing = checkpoint.differences(everyone[0]["config"], theirs["config"], "", ("on rank 0", f"on rank {rank}"))
        differing += [f"{part} data ({everyone[0][part]} vs {theirs[part]})" for part in ("train", "dev") if theirs[part] != everyone[0][part]]
        if differing:
            cluster.stop(f"the torchrun processes disagree: rank {rank} differs from rank 0 in {', '.join(differing)}")
    return train_set, dev_set, f"train {mine['train']}; dev {mine['dev']}"


def _resumable(output: Path, config: Config, data: str, cluster: Cluster) -> dict:
    """The checkpoint to resume from, checked against this run's config, data and number of processes."""
    saved = checkpoint.read(output)
    changed = checkpoint.differences(saved["config"], config_to_dict(config))
    if changed:
        raise SlotfillError(f"cannot resume with a different config: {', '.join(changed)}", output)
    if saved["data"] != data:
        raise SlotfillError(f"cannot resume: the data changed since the checkpoint ({saved['data']} then, {data} now)", output)
    if saved["world"] != cluster.world:
        raise SlotfillError(f"cannot resume: the checkpoint was written by {saved['world']} processes, this run has {cluster.world}", output)
    return saved


def train(config: Config, output: str | Path, resume: bool = False, force: bool = False) -> tuple[Predictor, dict]:
    """Train the configured model, keep the best model and the last epoch's checkpoint in `output`, and return
    the model with its metrics. `resume` continues from that checkpoint. A non-empty `output` that holds no
    slotfill model is refused unless `force` (see storage.check_output). Under torchrun, every process
    trains its share (DistributedDataParallel); rank 0 alone checks `output`, evaluates and writes."""
    if not config.data.train:
        raise SlotfillError("no training data: set data.train in the config or with --set data.train=PATH")
    kind = device_type(config.train.device)
    cluster = join(kind)
    try:
        cluster.from_main(lambda: storage.check_output(output, force or resume, folder=True, ours=storage.is_model))
        trained = _train(config, Path(output), resume, cluster, kind)
        cluster.wait()  # the others wait for rank 0 to write the model: tearing down gloo while it works aborted them
        return trained
    finally:
        leave(cluster)


def _train(config: Config, output: Path, resume: bool, cluster: Cluster, kind: str) -> tuple[Predictor, dict]:
    device = torch.device(kind, cluster.local_rank) if kind == "cuda" else torch.device("cpu")
    amp = amp_dtype(config.train.amp, device)
    set_seed(config.train.seed)
    set_threads(config.train.threads)
    if not cluster.main:
        log.setLevel(logging.WARNING)
    train_set, dev_set, data = _same_everywhere(cluster, config)
    saved = cluster.from_main(lambda: _resumable(output, config, data, cluster)) if resume else None

    predictor = None

    def build() -> tuple[dict, dict]:  # vocabularies (and word2vec) once, by rank 0
        nonlocal predictor
        predictor = create(config, train_set)
        if "word2vec" in config.model.embeddings and saved is None:
            _initialise_word2vec(predictor, config, train_set)
        return predictor.featurizer.to_json(), predictor.labels_json()

    featurizer, vocab = cluster.from_main(build)
    if predictor is None:  # the other processes under torchrun: the same model, its weights broadcast by DDP
        predictor = assemble(config, Featurizer.from_json(featurizer), vocab)
    predictor.model.to(device)
    if cluster.rank > 0:
        torch.manual_seed(config.train.seed + cluster.rank)  # own dropout masks
    params = sum(p.numel() for p in predictor.model.parameters())
    log.info(f"{len(train_set)} training and {len(dev_set)} dev sentences; vocabulary {len(predictor.featurizer.words)}; "
             f"{params:,} parameters" + (f"; {cluster.world} processes" if cluster.world > 1 else ""))
    trainer = Trainer(predictor, config.train, cluster, device, train_set, amp)
    started = time.perf_counter()
    try:
        history = fit(trainer, dev_set, _metric_name(config), output, saved, data)
    except KeyboardInterrupt:
        if cluster.main and (output / storage.WEIGHTS).exists():
            log.info(f"interrupted: the best model so far is in {output}; --resume continues")
        raise
    metrics = {"history": history, "train_seconds": round(time.perf_counter() - started, 1)}
    if not cluster.main:
        return predictor, metrics
    if config.data.test:
        metrics["test"] = predictor.evaluate(read_split(config, config.data.test))
        log.info(f"test {predictor.summary(metrics['test'])}")
    storage.write_metrics(output, metrics)  # the rest of the directory holds the best model already
    if config.train.onnx:
        from .export import export_onnx

        export_onnx(predictor, output / storage.NETWORK, storage.sha256(output / storage.WEIGHTS))
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
