"""word2vec with gensim: train vectors, read pretrained files, and copy them into an embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import Word2VecConfig
from ..errors import SlotfillError
from ..readers import read_lines
from ..text import normalize, tokenize
from ..vocab import Vocab


def corpus_sentences(path: str | Path, lowercase: bool = True, digits: bool = False) -> list[list[str]]:
    """Raw text, one sentence per line, tokenized as the tagger tokenizes."""
    return [
        [normalize(t.text, lowercase, digits) for t in tokenize(line, lowercase=False)]
        for line in read_lines(path)
        if line.strip()
    ]


def train_vectors(sentences: list[list[str]], config: Word2VecConfig, seed: int = 1):
    """gensim Word2Vec trained on `sentences`; returns its KeyedVectors."""
    from gensim.models import Word2Vec

    model = Word2Vec(
        sentences,
        vector_size=config.dim,
        window=config.window,
        min_count=config.min_count,
        epochs=config.epochs,
        sg=1 if config.algorithm == "skipgram" else 0,
        seed=seed,
        workers=1,  # one worker keeps training reproducible for a seed (gensim seeds numpy's generator)
    )
    return model.wv


def load_vectors(path: str | Path):
    """word2vec binary or text, or GloVe text (no header line); the format is read from the file."""
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise SlotfillError("no such vectors file", path)
    with path.open("rb") as f:
        head = f.readline()
    fields = head.split()
    has_header = len(fields) == 2 and all(x.isdigit() for x in fields)
    problem = None
    for binary in (False, True) if has_header else (False,):
        try:
            vectors = KeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=not has_header)
        except (ValueError, TypeError, UnicodeDecodeError, EOFError) as err:
            problem = err
            continue
        if vectors.vector_size > 0 and len(vectors) > 0:
            return vectors
        problem = "no vectors in it"
    raise SlotfillError(f"not a word2vec or GloVe vectors file ({problem})", path)


def save_vectors(vectors, path: str | Path) -> None:
    """Save KeyedVectors in word2vec text format."""
    vectors.save_word2vec_format(str(path), binary=False)


def initialise(table: torch.nn.Embedding, vocab: Vocab, vectors, freeze: bool) -> float:
    """Copy `vectors` into the rows of `table` for the words they know; returns the share covered."""
    if vectors.vector_size != table.embedding_dim:
        raise SlotfillError(
            f"the vectors have dimension {vectors.vector_size} but model.word2vec.dim is {table.embedding_dim}"
        )
    known = [(i, w) for i, w in enumerate(vocab.itos) if i >= len(vocab.specials) and w in vectors.key_to_index]
    with torch.no_grad():
        if known:
            rows = torch.tensor([i for i, _ in known])
            matrix = np.stack([vectors[w] for _, w in known])
            table.weight[rows] = torch.from_numpy(matrix).to(table.weight.dtype)
            # words the vectors lack get random vectors of the same scale
            scale = float(np.std(matrix))
            covered = {i for i, _ in known}
            missing = [i for i in range(len(vocab.specials), len(vocab)) if i not in covered]
            if missing:
                table.weight[missing] = torch.randn(len(missing), table.embedding_dim) * scale
    table.weight.requires_grad_(not freeze)
    return len(known) / max(1, len(vocab) - len(vocab.specials))


def word2vec_for(config: Word2VecConfig, sentences: list[list[str]], lowercase: bool, digits: bool, seed: int):
    """The configured vectors: loaded from `config.vectors`, or trained on the sentences (+ corpus)."""
    if config.vectors:
        return load_vectors(config.vectors)
    if config.corpus:
        sentences = sentences + corpus_sentences(config.corpus, lowercase, digits)
    return train_vectors(sentences, config, seed)
