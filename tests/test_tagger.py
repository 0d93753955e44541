"""SlotTagger (the tagger) keeps its tokenizer settings: Chinese with Latin letters one per token, saved and loaded."""

# Trained with Latin letters one per token (as CAIS writes them), a model tags raw text the same way after
# saving and loading.

from __future__ import annotations

import json

from slotfill.config import load_config
from slotfill.predict import load
from slotfill.nn.training import train

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
    assert result["slots"] == [{"label": "singer_name", "text": "tfboys", "start": 3, "end": 9}]
    assert result["intent"]["label"] == "PlayMusic"
