"""How far a model's confidences can be trusted: the expected calibration error (10 equal-width bins, top label)
of its intents or classes and of its slot spans, with the temperatures training fitted on dev and without them,
how often the spans it scores 0.9 or more are right, and the reliability bins.

    python benchmarks/calibration.py models/atis-joint                                  # the ATIS test set
    python benchmarks/calibration.py models/sst2 --data ../shared/data/sst2/test.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common import ATIS

SURE = 0.9  # spans scored this or more


def span_figures(tagger, sentences) -> dict:
    """The slot spans' ECE and how many of those scored SURE or more are right."""
    from slotfill.calibration import span_reliability
    from slotfill.tags import spans

    decoded = tagger.predict_tokens([s.tokens for s in sentences], with_scores=True)
    sure = [span in set(spans(s.tags)) for s, d in zip(sentences, decoded)
            for span, score in zip(d.best.spans, d.best.scores) if score >= SURE]
    return {"ece": span_reliability([s.tags for s in sentences], [(d.best.spans, d.best.scores) for d in decoded])["ece"],
            "sure": len(sure), "sure_right": sum(sure)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path)
    p.add_argument("--data", type=Path, default=ATIS / "test", help="labelled data, any format [the ATIS test set]")
    args = p.parse_args()

    from slotfill.predict import load

    model = load(args.model)
    examples = model.read(model.config, args.data)
    metrics = model.evaluate(examples)
    c = metrics.get("calibration")
    if c:
        print(f"{'intent' if model.task == 'tagger' else 'class'} ECE: {100 * c['ece_unscaled']:.2f} unscaled, "
              f"{100 * c['ece']:.2f} at temperature {c['temperature']:.2f}")
        print("  bin        count  confidence  accuracy")
        for b in c["bins"]:
            if b["count"]:
                print(f"  {b['low']:.1f}-{b['high']:.1f}  {b['count']:>8}  {b['confidence']:>10.3f}  {b['accuracy']:>8.3f}")
    if model.task == "tagger":
        fitted = model.parts.slot_temperature
        for temperature in sorted({1.0, fitted}):
            model.parts.calibration["slot_temperature"] = temperature
            f = span_figures(model, examples)
            print(f"slot spans at temperature {temperature:.2f}: ECE {100 * f['ece']:.2f}; scored {SURE} or more: "
                  f"{f['sure_right']:,} of {f['sure']:,} right ({100 * f['sure_right'] / max(1, f['sure']):.2f}%)"
                  + ("  (fitted on dev)" if temperature == fitted else ""))


if __name__ == "__main__":
    main()
