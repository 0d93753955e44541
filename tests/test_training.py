"""slotfill.nn.training: training, saving, loading and applying taggers and classifiers on slices of the bundled data."""

from __future__ import annotations

import json
import math
import pickle
import random
from pathlib import Path

import pytest
import torch
from helpers import valid_bio

import slotfill
from slotfill.nn import trainer, training
from slotfill.config import load_config
from slotfill.errors import SlotfillError
from slotfill.predict import Classifier, SlotTagger
from slotfill.readers import read_tagged
from slotfill.tags import split_tag
from slotfill.nn.build import create
from slotfill.nn.trainer import WeightAverage, length_batches
from slotfill.nn.training import set_seed, train

TEXTS = [
    "i want to fly from boston to denver on monday",
    "Show me  the CHEAPEST flights from San Francisco to Dallas tomorrow morning",
    "what's the best way to get to nashville from portland",
    "list flights",
]


def leftovers(directory: Path, model_files: frozenset[str]) -> list[str]:
    """Temporary files or folders that saving may have left next to or inside a model directory."""
    found = [p.name for p in directory.parent.iterdir() if p.name.startswith(".")]
    return found + [p.name for p in directory.iterdir() if p.name not in model_files]


def check_tagged(result: dict, text: str, tagger: SlotTagger) -> None:
    assert result["text"] == text
    assert len(result["tokens"]) == len(result["tags"]) > 0
    assert all(tag in tagger.tags.itos for tag in result["tags"])
    position = 0
    for token in result["tokens"]:  # tokens are substrings of the text, in order, case kept
        position = text.index(token, position) + len(token)
    for slot in result["slots"]:
        assert 0 <= slot["start"] < slot["end"] <= len(text)
        assert text[slot["start"]:slot["end"]] == slot["text"]
        assert slot["text"] == slot["text"].strip()
        assert slot["label"] in {split_tag(t)[1] for t in tagger.tags.itos if t != "O"}


@pytest.fixture
def train_tiny(small_data, flights_config, tagger_overrides):
    """train_tiny(output, epochs=2, extra=()): train a tiny tagger on the session's flights slices; (predictor, metrics)."""

    def run(output: Path, epochs: int = 2, extra: tuple[str, ...] = ()):
        settings = tagger_overrides(small_data.flights_train, small_data.flights_dev, epochs, extra)
        return train(load_config(flights_config, settings), output)

    return run


# ---- the session tagger ------------------------------------------------------------------------


def test_tagger_learns(trained_tagger):
    history = trained_tagger.metrics["history"]
    losses = [e["loss"] for e in history["epochs"]]
    assert len(losses) == 10
    assert losses[-1] < losses[0] / 2
    assert all(later < earlier for earlier, later in zip(losses[:3], losses[1:4]))
    assert history["metric"] == "f1"
    assert history["best"] == max(e["dev"]["f1"] for e in history["epochs"])
    assert history["best"] > 0.5
    assert history["epochs"][history["best_epoch"] - 1]["dev"]["f1"] == history["best"]
    assert "intent_accuracy" in history["epochs"][-1]["dev"]
    assert trained_tagger.metrics["train_seconds"] >= 0


def test_model_directory_holds_exactly_the_model_files(trained_tagger, model_files):
    directory = trained_tagger.directory
    assert {p.name for p in directory.iterdir()} == model_files
    assert leftovers(directory, model_files) == []
    assert [p.name for p in directory.parent.iterdir()] == [directory.name]
    config = json.loads((directory / "config.json").read_text())
    assert config["task"] == "tagger" and config["model"]["decoder"] == "crf"
    vocab = json.loads((directory / "vocab.json").read_text())
    assert vocab["tags"][0] == "O" and "B-toloc.city_name" in vocab["tags"]
    assert "atis_flight" in vocab["intents"]
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["history"]["best"] == trained_tagger.metrics["history"]["best"]


def test_evaluate_on_dev(trained_tagger, small_data):
    dev = read_tagged(small_data.flights_dev)
    scores = trained_tagger.predictor.evaluate(dev)
    assert scores["f1"] == pytest.approx(trained_tagger.metrics["history"]["best"])
    for key in ("precision", "recall", "f1", "token_accuracy", "sentence_accuracy", "intent_accuracy"):
        assert 0.0 <= scores[key] <= 1.0


def test_save_load_tag_round_trip(trained_tagger, small_data, same):
    loaded = SlotTagger.load(trained_tagger.directory)
    assert isinstance(slotfill.load(trained_tagger.directory), SlotTagger)
    texts = TEXTS + [json.loads(line)["text"] for line in small_data.flights_dev.read_text().splitlines()]
    before = trained_tagger.predictor.tag_batch(texts)
    after = loaded.tag_batch(texts)
    for text, a, b in zip(texts, before, after):
        assert a["tags"] == b["tags"] and a["tokens"] == b["tokens"]
        same(a["slots"], b["slots"])  # the torch engine's span probabilities and the ONNX engine's
        assert a["intent"]["label"] == b["intent"]["label"]
        assert a["intent"]["score"] == pytest.approx(b["intent"]["score"], abs=1e-6)
        check_tagged(b, text, loaded)
        assert valid_bio(b["tags"])  # the CRF decodes under BIO constraints
        assert b["intent"]["label"] in loaded.intents.itos
        assert 0.0 < b["intent"]["score"] <= 1.0
    # one sentence alone gives what it gives in a batch
    single = loaded.tag(texts[1])
    assert single["tags"] == after[1]["tags"]
    same(single["slots"], after[1]["slots"])
    assert single["tokens"][:2] == ["Show", "me"]  # original case in the output


def test_tagger_finds_the_obvious_slots(trained_tagger):
    result = trained_tagger.predictor.tag("i want to fly from boston to denver")
    labels = {s["text"]: s["label"] for s in result["slots"]}
    assert labels.get("boston") == "fromloc.city_name"
    assert labels.get("denver") == "toloc.city_name"
    assert result["intent"]["label"] == "atis_flight"


@pytest.mark.parametrize("text", ["", "   ", "\n"], ids=["empty", "spaces", "newline"])
def test_empty_sentence_is_an_error(trained_tagger, trained_classifier, text):
    with pytest.raises(SlotfillError, match="empty sentence"):
        trained_tagger.predictor.tag(text)
    with pytest.raises(SlotfillError, match="empty sentence"):
        trained_classifier.predictor.classify(text)


def test_empty_sentence_in_a_batch_is_named_by_its_number(trained_tagger):
    with pytest.raises(SlotfillError, match="sentence 2"):
        trained_tagger.predictor.tag_batch(["fly to boston", ""])


# ---- loading: errors and safety --------------------------------------------------------------------


def test_load_missing_directory(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(SlotfillError) as err:
        SlotTagger.load(missing)
    assert str(missing) in str(err.value)


@pytest.mark.parametrize("engine", ["auto", "onnx", "torch"])
@pytest.mark.parametrize("name", ["config.json", "vocab.json"])
def test_load_directory_missing_a_file(model_copy, name, engine):
    (model_copy / name).unlink()
    with pytest.raises(SlotfillError, match=name) as err:
        SlotTagger.load(model_copy, engine)
    assert str(model_copy) in str(err.value)


def test_torch_engine_needs_the_weights(model_copy):
    (model_copy / "weights.pt").unlink()
    with pytest.raises(SlotfillError, match="weights.pt") as err:
        SlotTagger.load(model_copy, engine="torch")
    assert str(model_copy) in str(err.value)


@pytest.mark.parametrize("content", [b"", b"not a torch file at all", b"PK\x03\x04 truncated zip"])
def test_load_corrupt_weights(model_copy, content):
    (model_copy / "weights.pt").write_bytes(content)
    with pytest.raises(SlotfillError) as err:
        SlotTagger.load(model_copy)
    assert str(model_copy / "weights.pt") in str(err.value)


def test_load_truncated_weights(model_copy):
    data = (model_copy / "weights.pt").read_bytes()
    (model_copy / "weights.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(SlotfillError) as err:
        SlotTagger.load(model_copy)
    assert str(model_copy / "weights.pt") in str(err.value)


@pytest.mark.parametrize("name", ["config.json", "vocab.json"])
@pytest.mark.parametrize("content", ['{"task": "tagger", ', "[1, 2, 3]", "\xff\xfe"])
def test_load_corrupt_json(model_copy, name, content):
    (model_copy / name).write_bytes(content.encode("latin-1"))
    with pytest.raises(SlotfillError) as err:
        SlotTagger.load(model_copy)
    assert str(model_copy / name) in str(err.value)


def test_load_config_with_unknown_key(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["model"]["hiden"] = 3
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(SlotfillError, match="hiden") as err:
        SlotTagger.load(model_copy)
    assert str(model_copy) in str(err.value)


def test_load_weights_of_another_shape(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["model"]["hidden_size"] = 8
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(SlotfillError, match="do not match") as err:
        SlotTagger.load(model_copy, engine="torch")
    assert str(model_copy) in str(err.value)


class Payload:
    """Unpickling this calls open(path, "w"): a file appears if the pickle's code is run."""

    def __init__(self, sentinel: Path):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_weights_are_loaded_without_running_code(model_copy, tmp_path, writer):
    sentinel = tmp_path / "pwned"
    state = {"encoder.rnn.weight_ih_l0": Payload(sentinel)}
    with open(model_copy / "weights.pt", "wb") as f:
        torch.save(state, f) if writer == "torch.save" else pickle.dump(state, f, protocol=2)
    with pytest.raises(SlotfillError, match="weights.pt"):
        SlotTagger.load(model_copy)
    assert not sentinel.exists()
    # the payload is live: an unsafe load would have run it
    control = Payload(tmp_path / "control-ran")
    if writer == "torch.save":
        torch.save(control, tmp_path / "control.pt")
        torch.load(tmp_path / "control.pt", weights_only=False)
    else:
        pickle.loads(pickle.dumps(control))
    assert (tmp_path / "control-ran").exists()


def test_tagger_load_on_classifier_and_back(trained_tagger, trained_classifier):
    with pytest.raises(SlotfillError, match="classifier") as err:
        SlotTagger.load(trained_classifier.directory)
    assert str(trained_classifier.directory) in str(err.value)
    with pytest.raises(SlotfillError, match="tagger"):
        Classifier.load(trained_tagger.directory)
    assert isinstance(slotfill.load(trained_classifier.directory), Classifier)


def test_the_old_classifier_name_still_loads_classifiers(trained_classifier):
    from slotfill.predict import SentimentClassifier

    assert slotfill.SentimentClassifier is SentimentClassifier is Classifier
    assert SentimentClassifier.load(trained_classifier.directory).classify("a wonderful film")["label"] in ("negative", "positive")


# ---- reproducibility, interruption ---------------------------------------------------------------------


def test_same_seed_same_weights(train_tiny, tmp_path):
    train_tiny(tmp_path / "a")
    train_tiny(tmp_path / "b")
    train_tiny(tmp_path / "c", extra=("train.seed=2",))
    a, b, c = (torch.load(tmp_path / name / "weights.pt", weights_only=True) for name in "abc")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert any(not torch.equal(a[key], c[key]) for key in a)
    assert (tmp_path / "a" / "vocab.json").read_text() == (tmp_path / "b" / "vocab.json").read_text()


def test_cosine_schedule_ends_at_zero(train_tiny, tmp_path):
    """From train.lr down to 0 at the last step, whatever the dev score."""
    _, metrics = train_tiny(tmp_path / "m", epochs=4, extra=("train.schedule=cosine", "train.lr=0.01"))
    rates = [e["lr"] for e in metrics["history"]["epochs"]]  # each read after its epoch's last step
    assert rates == pytest.approx([0.01 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (1, 2, 3, 4)], abs=1e-3)
    assert rates[-1] == 0 and rates == sorted(rates, reverse=True)


def test_plateau_schedule_decays_after_epochs_without_a_better_dev_score(tagged_files, tmp_path, flights_config,
                                                                         tagger_overrides):
    config = load_config(flights_config, tagger_overrides(*tagged_files, 8, ("train.lr=0.01", "train.lr_patience=0")))
    _, metrics = train(config, tmp_path / "m")
    epochs, rate = metrics["history"]["epochs"], 0.01
    for k, entry in enumerate(epochs):
        assert entry["lr"] == pytest.approx(rate)  # read before this epoch's score steps the schedule
        if k and entry["dev"]["f1"] <= max(e["dev"]["f1"] for e in epochs[:k]) * (1 + 1e-4):  # PyTorch's relative threshold
            rate /= 2
    assert epochs[-1]["lr"] < 0.01  # the 20-sentence dev set stops improving within 8 epochs


def test_interrupted_training_keeps_the_best_checkpoint(small_data, train_tiny, model_files, tmp_path, monkeypatch):
    calls = []
    evaluate = SlotTagger.evaluate

    def interrupting(self, sentences, **options):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return evaluate(self, sentences, **options)

    monkeypatch.setattr(SlotTagger, "evaluate", interrupting)
    output = tmp_path / "parent" / "model"
    with pytest.raises(KeyboardInterrupt):
        train_tiny(output, epochs=5)
    monkeypatch.undo()
    assert len(calls) == 3
    assert {p.name for p in output.iterdir()} == model_files - {"model.onnx", "typicality.npz"}  # both made when training ends
    assert leftovers(output, model_files) == []
    history = json.loads((output / "metrics.json").read_text())["history"]
    assert history["best_epoch"] in (1, 2)
    assert len(history["epochs"]) == history["best_epoch"]
    loaded = SlotTagger.load(output)
    assert loaded.evaluate(read_tagged(small_data.flights_dev))["f1"] == pytest.approx(history["best"])
    check_tagged(loaded.tag(TEXTS[0]), TEXTS[0], loaded)


def test_interruption_while_saving_keeps_the_previous_checkpoint(train_tiny, model_files, tmp_path, monkeypatch):
    saves = []
    save = torch.save

    def interrupting(*args, **kwargs):
        saves.append(1)
        if len(saves) == 3:
            raise KeyboardInterrupt
        return save(*args, **kwargs)

    monkeypatch.setattr(torch, "save", interrupting)
    output = tmp_path / "parent" / "model"
    with pytest.raises(KeyboardInterrupt):  # each epoch saves weights, then the checkpoint: epoch 2's weights are interrupted
        _train_improving(train_tiny, output, monkeypatch)
    monkeypatch.undo()
    assert len(saves) == 3
    assert leftovers(output, model_files) == []
    assert json.loads((output / "metrics.json").read_text())["history"]["best_epoch"] == 1
    assert torch.load(output / "checkpoint.pt", weights_only=True)["epoch"] == 1
    SlotTagger.load(output).tag(TEXTS[0])


def _train_improving(train_tiny, output, monkeypatch):
    """Train with a dev score that rises every epoch, so every epoch saves a checkpoint."""
    scores = iter(range(1, 100))

    def rising(self, sentences, **options):
        return {"precision": 0.0, "recall": 0.0, "f1": next(scores) / 100}

    monkeypatch.setattr(SlotTagger, "evaluate", rising)
    return train_tiny(output, epochs=3)


# ---- settings ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_with_decoder(tmp_path_factory, small_data, flights_config, tagger_overrides):
    """trained_with_decoder(name): (directory, predictor, metrics) of a 3-epoch tiny tagger with model.decoder = name,
    trained once per module."""
    trained = {}

    def get(decoder: str):
        if decoder not in trained:
            output = tmp_path_factory.mktemp(decoder) / "model"
            settings = tagger_overrides(small_data.flights_train, small_data.flights_dev, 3, (f"model.decoder='{decoder}'",))
            trained[decoder] = (output, *train(load_config(flights_config, settings), output))
        return trained[decoder]

    return get


@pytest.mark.parametrize("decoder, has_crf", [("crf", True), ("softmax", False)])
def test_decoders(trained_with_decoder, decoder, has_crf):
    directory, predictor, metrics = trained_with_decoder(decoder)
    assert (predictor.backend.model.crf is not None) == has_crf
    losses = [e["loss"] for e in metrics["history"]["epochs"]]
    assert losses[-1] < losses[0]
    loaded = SlotTagger.load(directory)
    assert loaded.config.model.decoder == decoder
    for text, a, b in zip(TEXTS, predictor.tag_batch(TEXTS), loaded.tag_batch(TEXTS)):
        assert a["tags"] == b["tags"]
        check_tagged(b, text, loaded)


def test_crf_decoder_tags_only_valid_bio(trained_with_decoder):
    """The CRF decodes under BIO constraints (a softmax decoder takes each token's best tag, valid or not)."""
    directory, _, _ = trained_with_decoder("crf")
    tagged = SlotTagger.load(directory).tag_batch(TEXTS)
    assert [text for text, result in zip(TEXTS, tagged) if not valid_bio(result["tags"])] == []


@pytest.mark.parametrize(
    "embeddings",
    [["onehot"], ["hashed"], ["word2vec"], ["learned", "chars"]],
    ids=lambda e: "+".join(e),
)
def test_representations_train_and_round_trip(train_tiny, tmp_path, monkeypatch, embeddings):
    output = tmp_path / "model"
    predictor, metrics = train_tiny(output, epochs=2, extra=(f"model.embeddings={json.dumps(embeddings)}",))
    assert list(predictor.backend.model.encoder.representation.parts) == embeddings
    assert all(e["loss"] > 0 for e in metrics["history"]["epochs"])

    def no_training(*args, **kwargs):
        raise AssertionError("loading a model must not train word2vec vectors")

    monkeypatch.setattr("slotfill.nn.w2v.train_vectors", no_training)
    loaded = SlotTagger.load(output, engine="torch")
    assert loaded.config.model.embeddings == embeddings
    before, after = predictor.backend.model.state_dict(), loaded.backend.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    for text, a, b in zip(TEXTS, predictor.tag_batch(TEXTS), loaded.tag_batch(TEXTS)):
        assert a["tags"] == b["tags"] and a["slots"] == b["slots"]
        check_tagged(b, text, loaded)


def test_word2vec_from_a_vectors_file_frozen(small_data, train_tiny, tmp_path):
    from slotfill.nn.w2v import load_vectors, save_vectors, train_vectors
    from slotfill.config import Word2VecConfig
    from slotfill.readers import read_tagged as read

    sentences = [[t.lower() for t in s.tokens] for s in read(small_data.flights_train)]
    vectors = train_vectors(sentences, Word2VecConfig(dim=16, epochs=2))
    path = tmp_path / "vectors.txt"
    save_vectors(vectors, path)
    extra = ("model.embeddings=['word2vec']", f"model.word2vec.vectors='{path}'", "model.word2vec.freeze=true")
    predictor, _ = train_tiny(tmp_path / "model", epochs=2, extra=extra)
    table = predictor.backend.model.encoder.representation.parts["word2vec"].table
    assert not table.weight.requires_grad
    written = load_vectors(path)
    for word in ("from", "to", sentences[0][-1]):
        row = table.weight[predictor.featurizer.words.id(word)].detach().numpy()
        assert row == pytest.approx(written[word], abs=1e-5)  # frozen: untouched by training


def test_without_dev_data_a_tenth_is_held_out(small_data, tmp_path, flights_config, tagger_overrides, caplog, monkeypatch):
    """No data.dev: a tenth of the training sentences (40 of 400) is held out, said in the log and scored."""
    training_texts = [s.text for s in read_tagged(small_data.flights_train)]
    assert len(training_texts) == 400
    config = load_config(flights_config, tagger_overrides(small_data.flights_train, "", 1))
    assert config.data.dev == ""
    scored, evaluate = [], SlotTagger.evaluate
    monkeypatch.setattr(SlotTagger, "evaluate",
                        lambda self, sentences, **options: scored.append((sentences, options)) or evaluate(self, sentences, **options))
    with caplog.at_level("INFO", logger="slotfill"):
        _, metrics = train(config, tmp_path / "model")
    log = [record.getMessage() for record in caplog.records]
    assert "no data.dev: holding out 40 training sentences for early stopping" in log
    assert any(line.startswith("360 training and 40 dev sentences;") for line in log), log
    ((dev, options),) = scored  # one epoch, one dev evaluation: on 40 of the training sentences
    assert len(dev) == 40 and {s.text for s in dev} <= set(training_texts)
    assert options == {"confidence": False}  # the epoch's dev figures skip slot scores and calibration
    (epoch,) = metrics["history"]["epochs"]
    assert metrics["history"]["best"] == epoch["dev"]["f1"]
    assert (tmp_path / "model" / "weights.pt").is_file()


def test_without_training_data(tmp_path):
    with pytest.raises(SlotfillError, match="data.train"):
        train(load_config(None, []), tmp_path / "model")


def test_test_split_is_evaluated(small_data, train_tiny, tmp_path):
    _, metrics = train_tiny(tmp_path / "model", epochs=1, extra=(f"data.test='{small_data.flights_dev}'",))
    assert 0.0 <= metrics["test"]["f1"] <= 1.0
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())["test"] == metrics["test"]


# ---- classifier -------------------------------------------------------------------------------------


def test_classifier(trained_classifier, learnt_review):
    classifier = trained_classifier.predictor
    assert trained_classifier.metrics["history"]["metric"] == "accuracy"
    result = classifier.classify(learnt_review)
    assert set(result) - {"fallback"} == {"text", "label", "scores", "typicality"}
    assert result["text"] == learnt_review
    assert result["label"] == "positive"
    assert result["scores"]["positive"] > 0.5
    assert set(result["scores"]) == {"negative", "positive"}
    assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-6)


def test_classifier_batch_keeps_order_and_round_trips(trained_classifier):
    texts = ["a boring, uninspired adaptation with messy direction.", "superb", "a gripping, funny film with a superb cast"]
    loaded = Classifier.load(trained_classifier.directory)
    results = loaded.classify_batch(texts)
    assert [r["text"] for r in results] == texts
    for result, original in zip(results, trained_classifier.predictor.classify_batch(texts)):
        assert result["label"] == original["label"]
        assert result["scores"] == pytest.approx(original["scores"], abs=1e-6)
        assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-6)
        assert all(0.0 <= p <= 1.0 for p in result["scores"].values())
        alone = loaded.classify(result["text"])
        assert alone["label"] == result["label"]
        assert alone["scores"] == pytest.approx(result["scores"], abs=1e-6)


def test_classifier_evaluate(trained_classifier, small_data):
    from slotfill.readers import read_labelled

    dev = read_labelled(small_data.reviews_dev)
    scores = trained_classifier.predictor.evaluate(dev)
    assert scores["accuracy"] == pytest.approx(trained_classifier.metrics["history"]["best"])
    assert 0.0 <= scores["macro_f1"] <= 1.0
    assert scores["labels"] == ["negative", "positive"]
    assert sum(map(sum, scores["confusion"])) == len(dev)


def test_classifier_needs_two_classes(classifier_overrides, tmp_path):
    one_class = tmp_path / "one.jsonl"
    one_class.write_text('{"text": "good", "label": "positive"}\n{"text": "great", "label": "positive"}\n')
    settings = classifier_overrides(one_class, one_class, 1)
    with pytest.raises(SlotfillError, match="two or more"):
        train(load_config(None, settings), tmp_path / "model")


def test_length_batches_cover_everything_once_with_similar_lengths():
    rng = random.Random(0)
    lengths = [rng.randint(1, 40) for _ in range(1000)]
    batches = length_batches(lengths, 16, random.Random(1), pool=10)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert all(len(b) <= 16 for b in batches) and sum(len(b) == 16 for b in batches) >= 60
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches) / len(batches)
    shuffled = list(range(1000))
    random.Random(2).shuffle(shuffled)
    random_spread = sum(
        max(lengths[i] for i in shuffled[k:k + 16]) - min(lengths[i] for i in shuffled[k:k + 16])
        for k in range(0, 1000, 16)
    ) / 63
    assert spread < random_spread / 4  # buckets keep lengths close; random batches span most of 1-40
    assert length_batches(lengths, 16, random.Random(1), pool=10) == batches  # same seed, same batches


def test_weight_average_is_an_exponential_moving_average():
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
    average = WeightAverage(model, decay=0.5)
    with torch.no_grad():
        model.weight.fill_(3.0)
    average.update()  # 0.5 * 1 + 0.5 * 3
    with torch.no_grad():
        model.weight.fill_(5.0)
    average.update()  # 0.5 * 2 + 0.5 * 5
    live = average.swapped_in(model)
    assert torch.allclose(model.weight, torch.full((1, 2), 3.5))
    assert torch.allclose(live["weight"], torch.full((1, 2), 5.0))


def test_training_with_weight_average_saves_the_average(tmp_path, tagged_files, flights_config, tagger_overrides):
    """The saved model is the average: with a decay of almost 1 it stays at the initial weights,
    while the same run without averaging moves away from them."""
    settings = tagger_overrides(*tagged_files, epochs=2)
    plain, _ = train(load_config(flights_config, settings), tmp_path / "plain")
    config = load_config(flights_config, [*settings, "train.ema=0.999999"])
    averaged, _ = train(config, tmp_path / "ema")
    set_seed(config.train.seed)  # what train() does before building the model
    initial = create(config, read_tagged(config.data.train)).backend.model.state_dict()
    loaded = SlotTagger.load(tmp_path / "ema", engine="torch").backend.model.state_dict()
    for name, value in averaged.backend.model.state_dict().items():
        assert torch.equal(value, loaded[name])
        if value.is_floating_point():
            assert torch.allclose(value, initial[name], atol=1e-3), name
    moved = [name for name, value in plain.backend.model.state_dict().items()
             if value.is_floating_point() and not torch.allclose(value, initial[name], atol=1e-3)]
    assert moved  # training did change the live weights


# ---- devices and mixed precision --------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_config_error():
    with pytest.raises(SlotfillError, match="no CUDA device"):
        training.device_type("cuda")
    assert training.device_type("auto") == "cpu"


def test_mixed_precision_settings():
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert training.amp_dtype("auto", cpu) is None
    assert training.amp_dtype("off", cuda) is None
    assert training.amp_dtype("bf16", cpu) is torch.bfloat16
    assert training.amp_dtype("fp16", cuda) is torch.float16
    with pytest.raises(SlotfillError, match="fp16.*needs a CUDA device"):
        training.amp_dtype("fp16", cpu)


def test_training_under_bf16_autocast_on_the_cpu(tagged_files, tagger_overrides, flights_config, tmp_path, monkeypatch):
    """The mixed-precision path (autocast around training and evaluation) run on the CPU with bf16:
    the loss falls and the saved weights are float32, like those of an unmixed run."""
    extra = ("model.embeddings=['learned','hashed','chars']", "train.ema=0.9", "train.lr_patience=0", "train.onnx=false",
             "train.amp='bf16'")
    config = load_config(flights_config, tagger_overrides(*tagged_files, epochs=3, extra=extra))
    seen, original = [], trainer.autocast
    monkeypatch.setattr(trainer, "autocast", lambda device, dtype: seen.append(dtype) or original(device, dtype))
    predictor, metrics = training.train(config, tmp_path / "bf16")
    assert seen and set(seen) == {torch.bfloat16}  # every training step and every dev evaluation
    losses = [e["loss"] for e in metrics["history"]["epochs"]]
    assert losses[-1] < losses[0]
    saved = torch.load(tmp_path / "bf16" / "weights.pt", weights_only=True)
    assert all(v.dtype == torch.float32 for v in saved.values() if v.is_floating_point())
    assert SlotTagger.load(tmp_path / "bf16").tag("flights from boston")["tags"]


def test_dev_and_test_data_of_other_training_data_are_not_used(small_data, tmp_path, flights_config, tagger_overrides, caplog):
    """A config's dev and test sets kept while data.train points at other data: a tenth of the training data
    is held out instead, and nothing is tested, each with one notice."""
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"text": "is it windy in paris", "slots": [{"start": 15, "end": 20, "label": "city"}],
                                 "intent": "GetWeather"}) + "\n", encoding="utf-8")
    settings = tagger_overrides(small_data.flights_train, other, 1, (f"data.test='{other}'",))
    with caplog.at_level("INFO", logger="slotfill"):
        _, metrics = train(load_config(flights_config, settings), tmp_path / "model")
    notices = [r.getMessage() for r in caplog.records if "shares no intent" in r.getMessage()]
    assert notices == [f"notice: {other}: the dev data shares no intent or class with the training data, so it cannot "
                       "choose the best epoch: a tenth of the training data is held out instead",
                       f"notice: {other}: the test data shares no intent or class with the training data: not tested"]
    assert "no data.dev: holding out 40 training sentences for early stopping" in caplog.text and "test" not in metrics
    caplog.clear()
    with caplog.at_level("WARNING", logger="slotfill"):
        train(load_config(flights_config, tagger_overrides(small_data.flights_train, small_data.flights_dev, 1)), tmp_path / "m2")
    assert not [r for r in caplog.records if "shares no intent" in r.getMessage()]
