"""`train(config, output)`: from data to a model directory with weights.pt and model.onnx, on one process or
several under torchrun (the loop itself is in trainer.py)."""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path

import torch

from .. import storage
from ..calibration import fit_temperature, nll, scale
from ..config import Config, config_to_dict
from ..errors import SlotfillError
from ..features import Featurizer
from ..formats.base import Corpus
from ..predict import Predictor
from ..scope import Typicality, choose
from ..storage import Parts
from . import checkpoint
from .build import assemble, create, network
from .distributed import Cluster, join, leave
from .trainer import Trainer, fit

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


def _metric_name(config: Config) -> str:
    return config.train.metric if config.train.metric != "auto" else Predictor.kind(config.task).metric


def hold_out(examples: list, seed: int) -> tuple[list, list]:
    """A tenth of the training examples (shuffled by `seed`) held out as dev data for early stopping."""
    shuffled = examples[:]
    random.Random(seed).shuffle(shuffled)
    cut = max(1, len(shuffled) // 10)
    log.info(f"no data.dev: holding out {cut} training sentences for early stopping")
    return Corpus(shuffled[cut:], getattr(examples, "synonyms", {})), shuffled[:cut]


def foreign(config: Config, examples: list, train_set: list) -> bool:
    """Whether `examples` share no intent or class with the training data: the dev or test data of other
    training data (a config's data.dev or data.test kept while data.train points elsewhere)."""
    stratum = Predictor.kind(config.task).stratum
    return not {stratum(e) for e in examples} & {stratum(e) for e in train_set}


def _read_data(config: Config) -> tuple[list, list]:
    kind = Predictor.kind(config.task)
    train_set = kind.read(config, config.data.train)
    if config.data.dev:
        dev_set = kind.read(config, config.data.dev)
        if not foreign(config, dev_set, train_set):
            return train_set, dev_set
        log.warning(f"notice: {config.data.dev}: the dev data shares no intent or class with the training data, so it "
                    "cannot choose the best epoch: a tenth of the training data is held out instead")
    return hold_out(train_set, config.train.seed)


def _same_everywhere(cluster: Cluster, config: Config, sets: tuple[list, list] | None) -> tuple[list, list, str]:
    """Read the data in every process (or take `sets`, training and dev examples), and stop all of them (rank 0
    saying why) unless they agree."""
    try:
        train_set, dev_set = sets or _read_data(config)
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


def train(config: Config, output: str | Path, resume: bool = False, force: bool = False,
          sets: tuple[list, list] | None = None) -> tuple[Predictor, dict]:
    """Train the configured model, keep the best model and the last epoch's checkpoint in `output`, and return
    the model with its metrics. `resume` continues from that checkpoint. A non-empty `output` that holds no
    slotfill model is refused unless `force` (see storage.check_output). `sets`: training and dev examples
    to use instead of the configured data. Under torchrun, every process trains its share
    (DistributedDataParallel); rank 0 alone checks `output`, evaluates and writes."""
    if not config.data.train:
        raise SlotfillError("no training data: set data.train in the config or with --set data.train=PATH")
    kind = device_type(config.train.device)
    cluster = join(kind)
    try:
        cluster.from_main(lambda: storage.check_output(output, force or resume, folder=True, ours=storage.is_model))
        trained = _train(config, Path(output), resume, cluster, kind, sets)
        cluster.wait()  # the others wait for rank 0 to write the model: tearing down gloo while it works aborted them
        return trained
    finally:
        leave(cluster)


def _train(config: Config, output: Path, resume: bool, cluster: Cluster, kind: str,
           sets: tuple[list, list] | None) -> tuple[Predictor, dict]:
    device = torch.device(kind, cluster.local_rank) if kind == "cuda" else torch.device("cpu")
    amp = amp_dtype(config.train.amp, device)
    set_seed(config.train.seed)
    set_threads(config.train.threads)
    if not cluster.main:
        log.setLevel(logging.WARNING)
    train_set, dev_set, data = _same_everywhere(cluster, config, sets)
    saved = cluster.from_main(lambda: _resumable(output, config, data, cluster)) if resume else None

    predictor = None

    def build() -> tuple[dict, dict]:  # vocabularies (and word2vec) once, by rank 0
        nonlocal predictor
        predictor = create(config, train_set)
        if "word2vec" in config.model.embeddings and saved is None:
            _initialise_word2vec(predictor, config, train_set)
        return predictor.featurizer.to_json(), predictor.parts.labels

    featurizer, labels = cluster.from_main(build)
    if predictor is None:  # the other processes under torchrun: the same model, its weights broadcast by DDP
        predictor = assemble(Parts(config, Featurizer.from_json(featurizer), labels))
    model = network(predictor).to(device)
    if cluster.rank > 0:
        torch.manual_seed(config.train.seed + cluster.rank)  # own dropout masks
    params = sum(p.numel() for p in model.parameters())
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
    metrics = {"history": history, "train_seconds": round(time.perf_counter() - started, 1), "parameters": params}
    if not cluster.main:
        return predictor, metrics
    calibrate(predictor, train_set, dev_set, output, metrics)
    test_set = predictor.read(config, config.data.test) if config.data.test else []
    if test_set and foreign(config, test_set, train_set):
        log.warning(f"notice: {config.data.test}: the test data shares no intent or class with the training data: not tested")
    elif test_set:
        metrics["test"] = predictor.evaluate(test_set)
        log.info(f"test {predictor.summary(metrics['test'])}")
    storage.write_metrics(output, metrics)  # the rest of the directory holds the best model already
    if config.train.onnx:
        from .export import export_onnx

        export_onnx(predictor, output / storage.NETWORK, storage.sha256(output / storage.WEIGHTS))
    return predictor, metrics


def calibrate(predictor: Predictor, train: list, dev: list, output: Path, metrics: dict) -> None:
    """Fit on the dev data what the model's scores are scaled by (a tagger's slot temperature, the temperature
    of the intent or class probabilities) and, where there is a sentence-level output, the typicality of
    sentence vectors (training data: class means and covariance; dev data: the reference distances) and the
    fallback thresholds (scope.choose; dev sentences of labels the model does not have are left out:
    out-of-scope examples are those of `data.out_of_scope`); write them beside the model (calibration.json,
    typicality.npz) and record them, with the dev NLL before and after the temperature, in `metrics`."""
    calibration = predictor.fit_token_calibration(dev)
    files = {}
    if predictor.sentence_labels is not None:
        scores, gold = predictor.sentence_outputs([e.tokens for e in dev]), predictor.gold_ids(dev)
        probabilities, known = scores[predictor.CALIBRATED], gold < len(predictor.sentence_labels)
        temperature = round(fit_temperature(probabilities[known], gold[known]), 4)
        trained, train_gold = predictor.sentence_outputs([e.tokens for e in train]), predictor.gold_ids(train)
        inside, keep = gold != predictor.out_of_scope, train_gold != predictor.out_of_scope
        typicality = Typicality.fit(trained["sentence"][keep], train_gold[keep], scores["sentence"][known & inside])
        fallback = choose(scale(probabilities[known], temperature), gold[known], typicality(scores["sentence"][known]),
                          predictor.out_of_scope)
        calibration.update(temperature=temperature, fallback=fallback.to_json())
        predictor.parts.typicality, predictor.fallback, files[storage.TYPICALITY] = typicality, fallback, typicality.to_bytes()
        metrics["calibration"] = {"dev_nll_unscaled": round(nll(probabilities[known], gold[known]), 4),
                                  "dev_nll": round(nll(probabilities[known], gold[known], temperature), 4)}
        log.info(f"temperature {temperature:.2f} for the {predictor.CALIBRATED} on dev: NLL {metrics['calibration']['dev_nll_unscaled']:.4f}"
                 f" -> {metrics['calibration']['dev_nll']:.4f}; fallback below probability {fallback.threshold:.2f} or "
                 f"typicality {fallback.typicality_threshold:g}")
    if not calibration:
        return
    predictor.parts.calibration = calibration
    metrics["calibration"] = {**calibration, **metrics.get("calibration", {})}
    if "slot_temperature" in calibration:
        log.info(f"slot temperature {calibration['slot_temperature']:.2f} on dev")
    storage.write_files(output, {storage.CALIBRATION: json.dumps(calibration).encode("utf-8"), **files})


def _initialise_word2vec(predictor: Predictor, config: Config, train_set: list) -> None:
    from .w2v import initialise, word2vec_for

    featurizer = predictor.featurizer
    sentences = [[featurizer.form(t) for t in e.tokens] for e in train_set]
    w2v = config.model.word2vec
    vectors = word2vec_for(w2v, sentences, config.vocab.lowercase, config.vocab.normalize_digits, config.train.seed)
    table = network(predictor).encoder.representation.parts["word2vec"].table
    coverage = initialise(table, featurizer.words, vectors, w2v.freeze)
    log.info(f"word2vec: vectors for {100 * coverage:.1f}% of the vocabulary ({'frozen' if w2v.freeze else 'fine-tuned'})")
