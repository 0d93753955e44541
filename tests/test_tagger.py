"""SlotTagger (the tagger): its tokenizer settings saved and loaded; slot scores, token marginals and n-best lists
checked against brute force over the engine's own scores, and the same from both engines."""

# Trained with Latin letters one per token (as CAIS writes them), a model tags raw text the same way after
# saving and loading.

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from helpers import valid_bio

from slotfill.config import load_config
from slotfill.errors import SlotfillError
from slotfill.nn.training import train
from slotfill.predict import load
from slotfill.readers import read_tagged
from slotfill.tags import spans

BLOCKS = [
    ("我要听tfboys的歌", "tfboys", "singer_name", "PlayMusic"),
    ("播放周杰伦的稻香", "周杰伦", "singer_name", "PlayMusic"),
    ("今天天气怎么样", "今天", "date", "GetWeather"),
]


def conll(path, repeat: int = 8):
    """CAIS-style blocks: one character per line, BIOES tags, the intent on the block's last line."""
    blocks = []
    for text, slot, label, intent in BLOCKS:
        start = text.index(slot)
        lines = []
        for k, char in enumerate(text):
            if start <= k < start + len(slot):
                prefix = "S" if len(slot) == 1 else "B" if k == start else "E" if k == start + len(slot) - 1 else "I"
                lines.append(f"{char} {prefix}-{label}")
            else:
                lines.append(f"{char} O")
        blocks.append("\n".join(lines) + f"\n{intent}\n")
    path.write_text("\n".join(blocks * repeat), encoding="utf-8")
    return path


def test_tokenizer_settings_saved_and_used_when_tagging(tmp_path, tiny_model):
    data = conll(tmp_path / "train.txt")
    settings = [f"data.train='{data}'", f"data.dev='{data}'", "text.latin_in_cjk='char'", *tiny_model,
                "model.embeddings=['learned']", "model.decoder='crf'", "train.epochs=12"]
    train(load_config(None, settings), tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text(encoding="utf-8"))
    assert saved["text"] == {"latin_in_cjk": "char"}
    tagger = load(tmp_path / "model")
    result = tagger.tag("我要听tfboys的歌")
    assert result["tokens"] == list("我要听tfboys的歌")
    score = result["slots"][0].pop("score")
    assert result["slots"] == [{"label": "singer_name", "text": "tfboys", "start": 3, "end": 9, "value": "tfboys"}]
    assert 0.0 < score <= 1.0  # a tiny model, not sure of all six letters
    assert result["intent"]["label"] == "PlayMusic"


SHORT = "fly to boston"  # three tokens: every tag sequence of the session tagger can be enumerated


def enumerated(tagger, text: str):
    """Every BIO-valid tag sequence of `text` (as tag strings) and its probability, from the engine's scores
    at the model's slot temperature."""
    tokens = text.split()
    scores = tagger.backend.run(tagger.featurizer.batch([tokens]))
    emissions = scores["emissions"][0].astype(np.float64)
    transitions, start, end = (scores[name].astype(np.float64) for name in ("transitions", "start", "end"))
    itos = tagger.tags.itos
    sequences = [s for s in itertools.product(range(len(itos)), repeat=len(tokens)) if valid_bio([itos[i] for i in s])]
    ids = np.array(sequences)
    totals = start[ids[:, 0]] + end[ids[:, -1]] + emissions[np.arange(len(tokens)), ids].sum(1)
    totals += transitions[ids[:, :-1], ids[:, 1:]].sum(1)
    totals /= tagger.parts.slot_temperature
    probabilities = np.exp(totals - totals.max())
    return [[itos[i] for i in s] for s in sequences], probabilities / probabilities.sum()


def test_slot_scores_and_nbest_match_brute_force(trained_tagger):
    tagger = trained_tagger.predictor
    assert "transitions" in tagger.outputs(tagger.parts)  # the session tagger has a CRF
    sequences, probabilities = enumerated(tagger, SHORT)
    result = tagger.tag(SHORT, nbest=5)
    assert result["slots"], "the session tagger should find boston"
    for slot, span in zip(result["slots"], spans(result["tags"])):
        tags = result["tags"][span.start:span.end]
        expected = sum(p for s, p in zip(sequences, probabilities)
                       if s[span.start:span.end] == tags and (span.end == len(s) or s[span.end] != f"I-{span.label}"))
        assert slot["score"] == pytest.approx(expected, abs=1e-5)
    ranked = np.argsort(-probabilities, kind="stable")[:5]
    assert [r["probability"] for r in result["nbest"]] == pytest.approx(probabilities[ranked].tolist(), abs=1e-5)
    assert result["nbest"][0]["tags"] == result["tags"] and result["nbest"][0]["slots"] == result["slots"]
    for reading in result["nbest"]:
        assert reading["probability"] == pytest.approx(probabilities[sequences.index(reading["tags"])], abs=1e-5)
        assert [s["label"] for s in reading["slots"]] == [span.label for span in spans(reading["tags"])]
    marginals = tagger.token_marginals([SHORT])[0]
    assert marginals.shape == (3, len(tagger.tags.itos))
    expected = np.zeros_like(marginals)
    for sequence, p in zip(sequences, probabilities):
        expected[np.arange(3), [tagger.tags.itos.index(t) for t in sequence]] += p
    np.testing.assert_allclose(marginals, expected, atol=1e-5)


def test_both_engines_give_the_same_scores(trained_tagger, small_data):
    texts = [json.loads(line)["text"] for line in small_data.flights_dev.read_text().splitlines()]
    onnx, torch_ = load(trained_tagger.directory, "onnx"), load(trained_tagger.directory, "torch")
    a, b = onnx.tag_batch(texts, nbest=3), torch_.tag_batch(texts, nbest=3)
    for x, y in zip(a, b):
        assert x["tags"] == y["tags"]
        assert [s["score"] for s in x["slots"]] == pytest.approx([s["score"] for s in y["slots"]], abs=1e-5)
        assert [r["tags"] for r in x["nbest"]] == [r["tags"] for r in y["nbest"]]
        assert [r["probability"] for r in x["nbest"]] == pytest.approx([r["probability"] for r in y["nbest"]], abs=1e-5)
    for m, n in zip(onnx.token_marginals(texts), torch_.token_marginals(texts)):
        np.testing.assert_allclose(m, n, atol=1e-5)
        np.testing.assert_allclose(m.sum(1), 1.0, atol=1e-9)


def test_scores_are_consistent_and_leave_the_tags_alone(trained_tagger, small_data):
    tagger = trained_tagger.predictor
    texts = [json.loads(line)["text"] for line in small_data.flights_dev.read_text().splitlines()]
    scored, plain, listed = tagger.tag_batch(texts), tagger.tag_batch(texts, scores=False), tagger.tag_batch(texts, nbest=20)
    marginals = tagger.token_marginals(texts)
    for x, y, z, m in zip(scored, plain, listed, marginals):
        assert x["tags"] == y["tags"] == z["tags"] == z["nbest"][0]["tags"]
        assert all("score" not in s for s in y["slots"]) and "nbest" not in x and "nbest" not in y
        for slot, span in zip(x["slots"], spans(x["tags"])):
            # the span event lies inside "its first token is B-x": never more probable than that
            assert 0.0 < slot["score"] <= m[span.start, tagger.tags.itos.index(f"B-{span.label}")] + 1e-9
        probabilities = [r["probability"] for r in z["nbest"]]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1 + 1e-9
        assert len({tuple(r["tags"]) for r in z["nbest"]}) == len(z["nbest"]) == min(20, len(z["nbest"]))


@pytest.mark.parametrize("nbest", [-1, 21, 2.5, True])
def test_nbest_out_of_range(trained_tagger, nbest):
    with pytest.raises(SlotfillError, match="nbest"):
        trained_tagger.predictor.tag_batch(["fly to boston"], nbest=nbest)


def test_softmax_decoder_scores_are_products_of_token_probabilities(tmp_path, tagged_files, flights_config, tagger_overrides):
    train_file, dev_file = tagged_files
    settings = tagger_overrides(train_file, dev_file, epochs=2, extra=("model.decoder='softmax'",))
    train(load_config(flights_config, settings), tmp_path / "model")
    tagger = load(tmp_path / "model")
    text = "i want to fly from boston to denver"
    result, marginals = tagger.tag(text, nbest=3), tagger.token_marginals([text])[0]
    emissions = tagger.backend.run(tagger.featurizer.batch([text.split()]))["emissions"][0].astype(np.float64)
    emissions /= tagger.parts.slot_temperature  # the logits at the fitted slot temperature
    assert tagger.parts.slot_temperature != 1.0  # two epochs: wrong on dev, so fitted
    dev = [sent for sent in read_tagged(dev_file) if all(t in tagger.tags.stoi for t in sent.tags)]
    logits = tagger.backend.run(tagger.featurizer.batch([sent.tokens for sent in dev]))["emissions"].astype(np.float64)

    def nll(t: float) -> float:  # of the dev tag sequences, each token's softmax at temperature t, by hand
        z = logits / t
        log_p = z - np.log(np.exp(z - z.max(2, keepdims=True)).sum(2, keepdims=True)) - z.max(2, keepdims=True)
        return -sum(log_p[i, np.arange(len(sent.tags)), tagger.tags.ids(sent.tags)].sum() for i, sent in enumerate(dev))

    fitted = tagger.parts.slot_temperature
    assert nll(fitted) <= min(nll(fitted * 1.2), nll(fitted / 1.2))  # the fitted temperature is the NLL's minimum
    softmax = np.exp(emissions - emissions.max(1, keepdims=True))
    np.testing.assert_allclose(marginals, softmax / softmax.sum(1, keepdims=True), atol=1e-6)
    ids = [tagger.tags.itos.index(t) for t in result["tags"]]
    assert ids == marginals.argmax(1).tolist()
    for slot, span in zip(result["slots"], spans(result["tags"])):
        assert slot["score"] == pytest.approx(np.prod(marginals[np.arange(span.start, span.end), ids[span.start:span.end]]), abs=1e-6)
    assert result["nbest"][0]["tags"] == result["tags"]
    assert result["nbest"][0]["probability"] == pytest.approx(np.prod(marginals[np.arange(len(ids)), ids]), abs=1e-6)


# ---- entity values: a Rasa project's synonyms, trained and served ----------------------------------------

CITIES = ["boston", "denver", "chicago", "seattle", "dallas"]
NYC = ['[new york city]{"entity": "city", "value": "NYC"}', '[the big apple]{"entity": "city", "value": "NYC"}', "[nyc](city)"]


def rasa_project() -> str:
    """A Rasa 3 nlu.yml: flights between cities, New York written three ways that map to one value, greetings."""
    places = [f"[{c}](city)" for c in CITIES] + NYC
    flights = [f"    - {template.format(a, b)}" for template in ("fly from {} to {}", "i want to go from {} to {}",
                                                                   "book a flight to {1} leaving {0}")
               for a, b in itertools.permutations(places, 2)]
    greetings = ["    - hello", "    - hi there", "    - good morning", "    - hey"]
    return ('version: "3.1"\nnlu:\n- intent: book_flight\n  examples: |\n' + "\n".join(flights)
            + "\n- intent: greet\n  examples: |\n" + "\n".join(greetings * 5)
            + "\n- synonym: NYC\n  examples: |\n    - nyc\n    - new york\n")


def test_a_rasa_project_trains_and_answers_with_its_entity_values(tmp_path, tiny_model, run_slotfill, start_server):
    """Rasa's drop-in: the project's nlu.yml trained as it is; the tagger and /model/parse give each entity's
    canonical value, as Rasa's synonym mapper does, to Rasa's own HTTP interpreter request."""
    project = tmp_path / "data" / "nlu.yml"
    project.parent.mkdir()
    project.write_text(rasa_project(), encoding="utf-8")
    model = tmp_path / "model"
    settings = [f"data.train='{project}'", "model.embeddings=['learned']", *tiny_model, "train.epochs=8", "train.onnx=true"]
    done = run_slotfill("train", "--output", model, *[a for s in settings for a in ("--set", s)])
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads((model / "vocab.json").read_text())["synonyms"] == {"new york city": "NYC", "the big apple": "NYC",
                                                                             "nyc": "NYC", "new york": "NYC"}
    tagged = json.loads(run_slotfill("tag", "--json", "--model", model, "fly from Boston to The Big Apple").stdout)
    assert [(s["text"], s["value"]) for s in tagged["slots"]] == [("Boston", "Boston"), ("The Big Apple", "NYC")]
    server = start_server(model)
    try:
        import httpx

        rasa = {"token": None, "text": "i want to go from denver to new york city", "message_id": None}  # Rasa's RasaNLUHttpInterpreter
        parsed = httpx.post(server.url + "model/parse", json=rasa, timeout=30).json()
        assert parsed["intent"]["name"] == "book_flight"
        assert [(e["entity"], e["value"]) for e in parsed["entities"]] == [("city", "denver"), ("city", "NYC")]
    finally:
        server.stop()
