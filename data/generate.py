"""Generate the two small corpora bundled with slotfill.

Writes, relative to this file's folder:

* ``flights/train.jsonl`` and ``flights/dev.jsonl``: an ATIS-style
  flight-booking corpus for slot filling.  One JSON object per line::

      {"text": "i want to arrive taipei on november 2nd",
       "slots": [{"start": 17, "end": 23, "label": "toloc.city_name"}, ...],
       "intent": "atis_flight"}

  ``start``/``end`` are Python character offsets into ``text`` (end
  exclusive) and always cover whole words.  A few cities occur only in dev
  (``DEV_ONLY_CITIES``), so generalisation from context can be measured.

* ``reviews/train.jsonl`` and ``reviews/dev.jsonl``: short movie-review
  sentences for binary sentiment classification::

      {"text": "a gripping, funny film with a superb cast.", "label": "positive"}

Everything is built from templates with a single ``random.Random(13)``, so the
output is deterministic: running the script twice gives byte-identical files.
It needs only the Python 3.11 standard library.  To regenerate, run from the
repository root::

    python data/generate.py
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

SEED = 13
DATA_DIR = Path(__file__).resolve().parent

FLIGHT_TRAIN_SIZE = 500
FLIGHT_DEV_SIZE = 120
REVIEW_TRAIN_SIZE = 400  # balanced: half positive, half negative
REVIEW_DEV_SIZE = 100

# --------------------------------------------------------------------------
# Flights: vocabulary
# --------------------------------------------------------------------------

TRAIN_CITIES = [
    "taipei", "台北", "boston", "denver", "dallas", "atlanta", "pittsburgh",
    "baltimore", "philadelphia", "san francisco", "oakland", "new york",
    "los angeles", "salt lake city", "st. louis", "chicago", "seattle",
    "miami", "houston", "phoenix", "detroit", "minneapolis", "charlotte",
    "nashville", "orlando", "las vegas", "san diego", "portland", "cleveland",
    "milwaukee", "toronto", "vancouver", "london", "paris", "tokyo", "seoul",
    "são paulo", "zürich", "washington", "memphis",
]
DEV_ONLY_CITIES = ["kansas city", "montreal", "oslo"]
DEV_ONLY_CITY_RATE = 0.35  # chance that a dev city slot uses a dev-only city

MONTHS = [
    "january", "february", "march", "april", "may", "june", "july",
    "august", "september", "october", "november", "december",
]
DAY_NAMES = [
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
]
ORDINAL_WORDS = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
    "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth",
    "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth",
    "nineteenth", "twentieth",
]
AIRLINES = [
    "united", "delta", "delta airlines", "eva air", "american airlines",
    "american", "continental", "jetblue", "alaska airlines", "southwest",
    "lufthansa", "air canada", "china airlines", "us air",
]
AIRLINE_DISPLAY = {  # natural capitalisation where plain title case is wrong
    "eva air": "EVA Air", "jetblue": "JetBlue", "us air": "US Air",
}
PERIODS = ["morning", "afternoon", "evening", "night"]
IN_PERIODS = ["morning", "afternoon", "evening"]  # usable after "in the"
ROUND_TRIP = ["round trip", "one way", "round-trip", "one-way"]
CLASS_TYPES = [
    "first class", "business class", "economy", "coach", "economy class",
    "business",
]
COST_FLIGHT = ["cheapest", "cheapest", "least expensive", "most expensive"]
COST_FARE = ["cheapest", "lowest", "least expensive", "most expensive"]

INTENT_WEIGHTS = {
    "atis_flight": 70,
    "atis_airfare": 12,
    "atis_airline": 9,
    "atis_flight_time": 9,
}

# --------------------------------------------------------------------------
# Flights: templates
#
# Template mini-language:
#   (a|b|c)   pick one alternative
#   [ ... ]   optional part (kept half of the time)
#   {name}    a macro from MACROS (expanded recursively) or a slot filler
#             from SLOT_FILLERS (becomes a labelled span)
# --------------------------------------------------------------------------

MACROS = {
    "want_fly": [
        "i want to fly", "i'd like to fly", "i need to fly",
        "i would like to fly", "we need to fly", "i plan to fly",
    ],
    "want_flight": [
        "i need a flight", "i'd like a flight", "i want a flight",
        "i'm looking for a flight", "show me flights", "show me the flights",
        "list flights", "list all flights", "give me the flights",
        "find me a flight", "find flights", "are there any flights",
        "what flights are available", "what flights do you have",
        "i would like to book a flight", "book me a flight",
        "can you show me flights", "do you have any flights",
        "what's available",
    ],
    "want_to": [
        "i want to", "i'd like to", "i need to", "i have to",
        "i would like to", "we need to", "i plan to",
    ],
    "dwhen": [
        "on {ddate}", "on {ddate}", "on {ddate}", "on {dday}",
        "on {ddate} in the {inperiod}", "on {ddate} at {dtime}",
        "on {ddate} (before|after|around) {dtime}", "{dday} {period}",
        "at {dtime}", "in the {inperiod}", "(before|after|around) {dtime}",
        "leaving at {dtime}", "in the {inperiod} on {ddate}",
        "on {ddate}, (leaving|departing) (at|around) {dtime}",
        "on {dday} in the {inperiod}",
    ],
    "dtiming": [
        "(at|around|before|after) {dtime}", "in the {inperiod}",
    ],
    "awhen": [
        "arriving (by|before|around|at) {atime}", "arriving on {adate}",
        "that arrives (by|before) {atime}",
        "that gets (there|in) by {atime}",
        "arriving on {adate} (by|before) {atime}",
    ],
    "aon": [
        "on {adate}", "on {adate}", "(by|before|around|at) {atime}",
        "on {adate} (by|before|at) {atime}",
    ],
    "go_to": ["for", "to", "going to", "headed to", "and going to"],
}

FLIGHT_TEMPLATES = {
    "atis_flight": [
        # classic pair: "arrive X" (destination) vs "leave X" (origin)
        (6, "{want_to} arrive {to} on {adate}[ (by|before|at) {atime}]"),
        (6, "{want_to} leave {from} on {mdate}[ {dtiming}]"),
        (2, "{want_to} leave {from} on {mdate} and (fly|go) to {to}"),
        (2, "{want_to} arrive {to} on {adate}, (coming|flying) from {from}"),
        (2, "{want_to} leave {from} on {mdate} and arrive {to} on {adate}"),
        (2, "{want_to} arrive in {to} {aon}"),
        # from X to Y / to Y from X
        (8, "{want_fly} from {from} to {to}[ {dwhen}]"),
        (8, "{want_flight} from {from} to {to}[ {dwhen}]"),
        (4, "{want_flight} to {to} from {from}[ {dwhen}]"),
        (2, "(what|which) flights go from {from} to {to}[ {dwhen}]"),
        # leaving / departing / arriving in
        (3, "{want_flight} leaving {from} {go_to} {to}[ {dwhen}]"),
        (2, "leaving {from} {dwhen}, (going|headed|flying) to {to}"),
        (3, "{want_flight} departing( from|) {from} {dwhen} and arriving in {to}"),
        (2, "{want_flight} departing {from} (for|to) {to}[ {dwhen}]"),
        (3, "{want_flight} from {from} arriving in {to} {aon}"),
        (2, "{want_flight} from {from} to {to} {awhen}"),
        (2, "{want_flight} arriving in {to} from {from}[ {aon}]"),
        # bound
        (2, "(show me|list|find|i need) {to} bound flights from {from}[ {dwhen}]"),
        (2, "{want_flight} bound for {to} (from|out of|leaving) {from}[ {dwhen}]"),
        # out of / into
        (3, "{want_flight} out of {from} (to|into|going to|headed to) {to}[ {dwhen}]"),
        (2, "{want_flight} into {to} from {from}[ {dwhen}]"),
        (2, "{want_flight} from {from} into {to}[ {awhen}]"),
        # fly X to Y / get to Y / return from X
        (3, "(i want to|i'd like to|can i|i need to|we want to) fly {from} to {to}[ {dwhen}]"),
        (3, "(i need to|i have to|i want to|how can i|what's the best way to) get to {to} from {from}[ {dwhen}]"),
        (2, "(i need to|i'd like to|i want to) get from {from} to {to}[ {dwhen}]"),
        (3, "(i need to|i'd like to|i want to|i have to) return from {from} to {to}[ {dwhen}]"),
        (1, "{want_flight} to return from {from} to {to}[ {dwhen}]"),
        # airline, class, round trip, cost, period of day
        (3, "{want_flight} on {airline} from {from} to {to}[ {dwhen}]"),
        (2, "(show me|list|are there any) {airline} flights (from {from} to {to}|to {to} from {from})[ {dwhen}]"),
        (2, "does {airline} (fly|have a flight|have flights) from {from} to {to}[ {dwhen}]"),
        (2, "(i need|i want|i'd like) a {rt} (ticket|flight) from {from} to {to}[ {dwhen}]"),
        (2, "(i need|i want|i'd like) a {class} (ticket|seat) from {from} to {to}[ {dwhen}]"),
        (2, "(show me|what is|what's|find) the {cost} flight from {from} to {to}[ {dwhen}]"),
        (2, "(show me|list|are there any|i want) {period} flights from {from} to {to}[ on {ddate}]"),
        (1, "(i need|i want) a {rt} {class} (ticket|flight) on {airline} from {from} to {to}"),
    ],
    "atis_airfare": [
        (3, "how much (is|does) a {rt} (ticket|flight) from {from} to {to} cost"),
        (3, "(what is|what's|what are) the (fare|fares|airfare|prices) (from {from} to {to}|for flights from {from} to {to})[ {dwhen}]"),
        (2, "(show me|list|give me) (the |)(fares|airfares|prices) (for flights |)from {from} to {to}[ {dwhen}]"),
        (3, "(what is|what's|show me) the {costfare} fare from {from} to {to}[ {dwhen}]"),
        (2, "how much does it cost to fly (from |){from} to {to}[ {dwhen}]"),
        (2, "(show me|what are) the {class} fares (from {from} to {to}|to {to} from {from})"),
        (1, "what's the {costfare} fare on {airline} from {from} to {to}"),
        (1, "how much is a {class} ticket on {airline} out of {from} into {to}"),
    ],
    "atis_airline": [
        (3, "(which|what) airlines (fly|go|have flights) from {from} to {to}[ {dwhen}]"),
        (2, "(which|what) airline (flies|goes) (from {from} to {to}|to {to} from {from}|out of {from} into {to})[ {dwhen}]"),
        (2, "(list|show me) (all |)(the |)airlines (that fly|flying|with flights) (from {from} to {to}|into {to} from {from})"),
        (2, "what airlines (depart|leave) {from} (for|to) {to}[ {dwhen}]"),
        (1, "which airlines have {class} (service|seats) from {from} to {to}"),
    ],
    "atis_flight_time": [
        (3, "what time does the flight from {from} to {to} (leave|depart)[ {dwhen}]"),
        (2, "what are the (departure|arrival) times (for|of) flights from {from} to {to}[ {dwhen}]"),
        (2, "when does {airline} (fly|leave) (from |){from} (to|for) {to}[ on {ddate}]"),
        (2, "what time (do flights|does the {airline} flight) (arrive|get) (in|into) {to} from {from}[ on {adate}]"),
        (2, "(show me|list|give me) the (flight|departure) (times|schedule) from {from} to {to}[ {dwhen}]"),
        (1, "when do flights leave {from} for {to}[ {dwhen}]"),
    ],
}

QUESTION_WORDS = (
    "what", "what's", "which", "how", "when", "does", "do", "is", "are",
    "can",
)
POLITE_PREFIXES = ["hi, ", "hello, ", "okay, ", "um, ", "yes, ", "please, "]
STYLED_RATE = 0.20     # natural capitalisation
END_PUNCT_RATE = 0.10  # end with "?" or "."
COMMA_RATE = 0.05      # add a polite prefix or ", please"


# --------------------------------------------------------------------------
# Flights: template expansion
# --------------------------------------------------------------------------

def expand(template: str, rng: random.Random) -> str:
    """Resolve alternatives, optional parts and macros; keep slot names."""
    while True:
        group = re.search(r"\(([^()\[\]]*)\)", template)
        if not group:
            break
        choice = rng.choice(group.group(1).split("|"))
        template = template[:group.start()] + choice + template[group.end():]
    while True:
        option = re.search(r"\[([^\[\]]*)\]", template)
        if not option:
            break
        kept = option.group(1) if rng.random() < 0.5 else ""
        template = template[:option.start()] + kept + template[option.end():]

    def expand_macro(match: re.Match) -> str:
        name = match.group(1)
        if name not in MACROS:
            return match.group(0)
        return expand(rng.choice(MACROS[name]), rng)

    return re.sub(r"\{(\w+)\}", expand_macro, template)


def day_number(rng: random.Random) -> str:
    """A day of the month: '2nd', '21st', 'second' or '14'."""
    day = rng.randint(1, 28)
    style = rng.random()
    if style < 0.2 and day <= len(ORDINAL_WORDS):
        return ORDINAL_WORDS[day - 1]
    if style < 0.28:
        return str(day)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    if 11 <= day <= 13:
        suffix = "th"
    return f"{day}{suffix}"


def month_day(rng: random.Random, prefix: str) -> list:
    """'november 2nd' or 'the 3rd of may' as labelled segments."""
    month, day = rng.choice(MONTHS), day_number(rng)
    month_label, day_label = f"{prefix}.month_name", f"{prefix}.day_number"
    if rng.random() < 0.2 and not day.isdigit():
        return [("the ", None), (day, day_label), (" of ", None),
                (month, month_label)]
    return [(month, month_label), (" ", None), (day, day_label)]


def time_of_day(rng: random.Random) -> str:
    """'7 pm', '9:30 am', '8 o'clock', 'noon' or 'midnight'."""
    style = rng.random()
    hour = rng.randint(1, 12)
    if style < 0.08:
        return "noon"
    if style < 0.12:
        return "midnight"
    if style < 0.25:
        return f"{hour} o'clock"
    ampm = rng.choice(["am", "pm"])
    if style < 0.55:
        return f"{hour}:{rng.choice(['15', '30', '45', '05'])} {ampm}"
    return f"{hour} {ampm}"


def depart_date(rng: random.Random) -> list:
    """A departure date: a day name (30%) or a month and day."""
    if rng.random() < 0.3:
        return [(rng.choice(DAY_NAMES), "depart_date.day_name")]
    return month_day(rng, "depart_date")


SLOT_FILLERS = {
    "from": lambda ctx: [(ctx.city(), "fromloc.city_name")],
    "to": lambda ctx: [(ctx.city(), "toloc.city_name")],
    "ddate": lambda ctx: depart_date(ctx.rng),
    "mdate": lambda ctx: month_day(ctx.rng, "depart_date"),
    "dday": lambda ctx: [(ctx.rng.choice(DAY_NAMES), "depart_date.day_name")],
    "adate": lambda ctx: month_day(ctx.rng, "arrive_date"),
    "dtime": lambda ctx: [(time_of_day(ctx.rng), "depart_time.time")],
    "atime": lambda ctx: [(time_of_day(ctx.rng), "arrive_time.time")],
    "period": lambda ctx: [(ctx.rng.choice(PERIODS),
                            "depart_time.period_of_day")],
    "inperiod": lambda ctx: [(ctx.rng.choice(IN_PERIODS),
                              "depart_time.period_of_day")],
    "airline": lambda ctx: [(ctx.rng.choice(AIRLINES), "airline_name")],
    "rt": lambda ctx: [(ctx.rng.choice(ROUND_TRIP), "round_trip")],
    "class": lambda ctx: [(ctx.rng.choice(CLASS_TYPES), "class_type")],
    "cost": lambda ctx: [(ctx.rng.choice(COST_FLIGHT), "cost_relative")],
    "costfare": lambda ctx: [(ctx.rng.choice(COST_FARE), "cost_relative")],
}


class SentenceContext:
    """Per-sentence state: the city pool and the cities already used."""

    def __init__(self, rng: random.Random, dev: bool):
        self.rng = rng
        self.dev = dev
        self.used: list[str] = []

    def city(self) -> str:
        while True:
            if self.dev and self.rng.random() < DEV_ONLY_CITY_RATE:
                name = self.rng.choice(DEV_ONLY_CITIES)
            else:
                name = self.rng.choice(TRAIN_CITIES)
            if name not in self.used:
                self.used.append(name)
                return name


def fill(template: str, ctx: SentenceContext) -> list:
    """Turn an expanded template into (text, label-or-None) segments."""
    segments = []
    for i, part in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            if part:
                segments.append((part, None))
        else:
            segments.extend(SLOT_FILLERS[part](ctx))
    return segments


def needs_an(word: str) -> bool:
    word = word.lower()
    if word.startswith(("one", "uni", "us ")):
        return False
    return word[:1] in "aeio"


def fix_articles(segments: list) -> list:
    """Turn 'a' into 'an' before a vowel-initial slot value."""
    fixed = list(segments)
    for i in range(1, len(fixed)):
        prev_text, prev_label = fixed[i - 1]
        if prev_label is None and needs_an(fixed[i][0]):
            if prev_text == "a " or prev_text.endswith(" a "):
                fixed[i - 1] = (prev_text[:-2] + "an ", None)
    return fixed


def capitalise_value(value: str, label: str) -> str:
    """Natural capitalisation of a slot value."""
    if label.endswith("city_name"):
        return " ".join(w[:1].upper() + w[1:] for w in value.split(" "))
    if label == "airline_name":
        if value in AIRLINE_DISPLAY:
            return AIRLINE_DISPLAY[value]
        return " ".join(w[:1].upper() + w[1:] for w in value.split(" "))
    if label.endswith(("month_name", "day_name")):
        return value[:1].upper() + value[1:]
    return value


def capitalise(segments: list) -> list:
    """Natural capitalisation: names, the pronoun 'I', first letter."""
    styled = []
    for text, label in segments:
        if label is None:
            text = re.sub(r"\bi\b", "I", text)
        else:
            text = capitalise_value(text, label)
        styled.append((text, label))
    first_text, first_label = styled[0]
    styled[0] = (first_text[:1].upper() + first_text[1:], first_label)
    return styled


def add_punctuation(segments: list, rng: random.Random) -> list:
    """Sometimes add a polite prefix, ', please', or a final '?' / '.'."""
    segments = list(segments)
    if rng.random() < COMMA_RATE:
        if rng.random() < 0.6:
            segments.insert(0, (rng.choice(POLITE_PREFIXES), None))
        else:
            segments.append((", please", None))
    if rng.random() < END_PUNCT_RATE:
        first_word = segments[0][0].split(" ")[0].strip(",")
        segments.append(("?" if first_word in QUESTION_WORDS else ".", None))
    return segments


def assemble(segments: list, intent: str) -> dict:
    """Concatenate segments into text and character-offset slots."""
    text, slots = "", []
    for part, label in segments:
        if label is not None:
            slots.append({"start": len(text), "end": len(text) + len(part),
                          "label": label})
        text += part
    return {"text": text, "slots": slots, "intent": intent}


def weighted_choice(rng: random.Random, weighted: list):
    """Pick the item of a [(weight, item), ...] list."""
    weights = [w for w, _ in weighted]
    return rng.choices([item for _, item in weighted], weights=weights)[0]


def flight_example(rng: random.Random, dev: bool) -> dict:
    """One random sentence: intent, template, slot values, surface style."""
    intents = list(INTENT_WEIGHTS)
    intent = rng.choices(intents, weights=[INTENT_WEIGHTS[i] for i in intents])[0]
    template = expand(weighted_choice(rng, FLIGHT_TEMPLATES[intent]), rng)
    segments = fill(template, SentenceContext(rng, dev))
    segments = fix_articles(segments)
    segments = add_punctuation(segments, rng)
    if rng.random() < STYLED_RATE:
        segments = capitalise(segments)
    return assemble(segments, intent)


def classic_examples() -> list:
    """The textbook pair: same words, opposite role for 'taipei'."""
    arrive = [("i want to arrive ", None), ("taipei", "toloc.city_name"),
              (" on ", None), ("november", "arrive_date.month_name"),
              (" ", None), ("2nd", "arrive_date.day_number")]
    leave = [("i want to leave ", None), ("taipei", "fromloc.city_name"),
             (" on ", None), ("november", "depart_date.month_name"),
             (" ", None), ("2nd", "depart_date.day_number")]
    return [assemble(arrive, "atis_flight"), assemble(leave, "atis_flight")]


def normalise(text: str) -> str:
    """Key for duplicate detection: lowercase, no punctuation."""
    return " ".join(re.sub(r"[?.,!]", " ", text.lower()).split())


def generate_flights(rng: random.Random) -> tuple[list, list]:
    seen: set[str] = set()
    train = []
    for example in classic_examples():
        seen.add(normalise(example["text"]))
        train.append(example)
    while len(train) < FLIGHT_TRAIN_SIZE:
        example = flight_example(rng, dev=False)
        key = normalise(example["text"])
        if key not in seen:
            seen.add(key)
            train.append(example)
    dev = []
    while len(dev) < FLIGHT_DEV_SIZE:
        example = flight_example(rng, dev=True)
        key = normalise(example["text"])
        if key not in seen:
            seen.add(key)
            dev.append(example)
    rng.shuffle(train)
    return train, dev


# --------------------------------------------------------------------------
# Reviews
# --------------------------------------------------------------------------

FILMS = [
    ("film", "films"), ("movie", "movies"), ("picture", "pictures"),
    ("drama", "dramas"), ("comedy", "comedies"), ("thriller", "thrillers"),
    ("romance", "romances"), ("documentary", "documentaries"),
    ("sequel", "sequels"), ("adaptation", "adaptations"),
    ("debut", "debuts"), ("western", "westerns"),
]
# (aspect, grammatical kind): "count" takes "a", "mass" and "plural" do not
ASPECTS = [
    ("acting", "mass"), ("plot", "count"), ("score", "count"),
    ("direction", "mass"), ("pacing", "mass"), ("characters", "plural"),
    ("ending", "count"), ("dialogue", "mass"), ("script", "count"),
    ("cinematography", "mass"), ("soundtrack", "count"),
    ("performances", "plural"), ("cast", "count"), ("story", "count"),
    ("editing", "mass"), ("visuals", "plural"), ("screenplay", "count"),
    ("lead performance", "count"), ("humor", "mass"),
    ("action scenes", "plural"), ("twists", "plural"), ("final act", "count"),
]
POS_FILM_ADJ = [
    "gripping", "funny", "moving", "charming", "delightful", "thrilling",
    "beautiful", "heartfelt", "clever", "stunning", "wonderful", "touching",
    "hilarious", "brilliant", "captivating", "memorable", "engaging",
    "tender", "witty", "powerful", "inventive", "absorbing", "joyful",
    "smart", "haunting", "uplifting", "exhilarating", "poignant",
]
NEG_FILM_ADJ = [
    "dull", "boring", "tedious", "predictable", "clumsy", "bland",
    "lifeless", "messy", "forgettable", "shallow", "hollow", "confusing",
    "overlong", "tiresome", "flat", "lazy", "awkward", "pretentious",
    "silly", "uninspired", "joyless", "muddled", "plodding", "cynical",
]
POS_ASPECT_ADJ = [
    "superb", "excellent", "sharp", "gorgeous", "terrific", "strong",
    "wonderful", "memorable", "sublime", "outstanding", "convincing",
    "lovely", "smart", "tight", "haunting", "pitch-perfect", "remarkable",
    "confident", "inspired", "fantastic",
]
NEG_ASPECT_ADJ = [
    "weak", "dreadful", "wooden", "clumsy", "forgettable", "flat", "sloppy",
    "painful", "uneven", "lifeless", "messy", "unconvincing", "poor",
    "tedious", "awful", "lazy", "thin", "bland", "laughable", "muddled",
]
# Words for "X at first but ultimately Y" (positive overall).
SLOW_STARTS = [
    "slow", "a little confusing", "uneven", "quiet", "a bit long",
    "hard to follow", "awkward", "a touch slow",
]
# Words for "X to look at but Y" (negative overall).
SURFACE_PRAISE = [
    "beautiful", "gorgeous", "lovely", "stylish", "pretty", "handsome",
    "pleasant", "slick",
]
NEG_ENDINGS = [
    "never finds its footing", "never comes together",
    "never earns its ending", "goes nowhere", "wastes its cast",
    "falls apart in the second half", "runs out of ideas",
]
POS_ENDINGS = [
    "stays with you long after the credits", "earns every laugh",
    "never loses its grip", "rewards your patience",
    "keeps you guessing until the end", "left me smiling",
]
INTENSIFIERS = ["really", "truly", "genuinely", "consistently", "utterly"]
DOWNERS = ["painfully", "utterly", "hopelessly", "remarkably", "deeply"]


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def with_aspect(adj: str, aspect: tuple) -> str:
    """'a superb cast', 'superb acting' or 'superb performances'."""
    noun, kind = aspect
    return f"{article(adj)} {adj} {noun}" if kind == "count" else f"{adj} {noun}"


def aspect_is(adj: str, aspect: tuple) -> str:
    """'the cast is superb' or 'the performances are superb'."""
    noun, kind = aspect
    return f"the {noun} {'are' if kind == 'plural' else 'is'} {adj}"


def two(rng: random.Random, items: list) -> tuple:
    first, second = rng.sample(items, 2)
    return first, second


def positive_review(rng: random.Random) -> str:
    film, films = rng.choice(FILMS)
    a1, a2 = two(rng, POS_FILM_ADJ)
    s1, s2 = two(rng, POS_ASPECT_ADJ)
    asp1, asp2 = two(rng, ASPECTS)
    neg = rng.choice(NEG_FILM_ADJ)
    templates = [
        lambda: f"{article(a1)} {a1}, {a2} {film} with {with_aspect(s1, asp1)}.",
        lambda: f"{aspect_is(s1, asp1)} and {aspect_is(s2, asp2)}.",
        lambda: f"{a1} from start to finish.",
        lambda: f"one of the most {a1} {films} of the year.",
        lambda: f"i loved this {film}; {aspect_is(s1, asp1)}.",
        lambda: f"{rng.choice(SLOW_STARTS)} at first but ultimately {a1}.",
        lambda: f"{rng.choice(SLOW_STARTS)} at first, but {aspect_is(s1, asp1)} and the {film} is {a1}.",
        lambda: f"never {neg}, always {a1}.",
        lambda: f"not a single {neg} moment in this {a1} {film}.",
        lambda: f"{article(a1)} {a1} {film} that never feels {neg}.",
        lambda: f"it's hard not to love this {a1} {film}.",
        lambda: f"despite {with_aspect(rng.choice(NEG_ASPECT_ADJ), asp1)}, the {film} is {a1} and {a2}.",
        lambda: f"{aspect_is(s1, asp1)}; i would happily watch it again.",
        lambda: f"what {article(a1)} {a1} {film}!",
        lambda: f"{rng.choice(INTENSIFIERS)} {a1}, with {with_aspect(s1, asp1)}.",
        lambda: f"{article(a1)} {a1} {film} that {rng.choice(POS_ENDINGS)}.",
        lambda: f"i expected it to be {neg}, but it was {a1} and {a2}.",
        lambda: f"{a1} and {a2}; {aspect_is(s1, asp1)}.",
        lambda: f"the director delivers {article(a1)} {a1} {film} with {with_aspect(s1, asp1)}.",
        lambda: f"not perfect, but {a1}, and {aspect_is(s1, asp1)}.",
        lambda: f"i was never bored: {aspect_is(s1, asp1)}.",
    ]
    return rng.choice(templates)()


def negative_review(rng: random.Random) -> str:
    film, films = rng.choice(FILMS)
    n1, n2 = two(rng, NEG_FILM_ADJ)
    s1, s2 = two(rng, NEG_ASPECT_ADJ)
    asp1, asp2 = two(rng, ASPECTS)
    pos = rng.choice(POS_FILM_ADJ)
    templates = [
        lambda: f"{article(n1)} {n1}, {n2} {film} with {with_aspect(s1, asp1)}.",
        lambda: f"{aspect_is(s1, asp1)} and {aspect_is(s2, asp2)}.",
        lambda: f"{rng.choice(SURFACE_PRAISE)} to look at but {n1}.",
        lambda: f"not {pos} at all.",
        lambda: f"this {film} is not {pos} at all; {aspect_is(s1, asp1)}.",
        lambda: f"{aspect_is(rng.choice(POS_ASPECT_ADJ), asp1)}, but not enough to save this {n1} {film}.",
        lambda: f"never {pos} and never {rng.choice(POS_FILM_ADJ)}.",
        lambda: f"i wanted to like this {film}, but it is {n1} and {n2}.",
        lambda: f"{article(n1)} {n1} {film} that {rng.choice(NEG_ENDINGS)}.",
        lambda: f"{n1} from start to finish.",
        lambda: f"the {film} starts strong but ends up {n1}.",
        lambda: f"despite {with_aspect(rng.choice(POS_ASPECT_ADJ), asp1)}, the {film} is {n1} and {n2}.",
        lambda: f"one of the most {n1} {films} of the year.",
        lambda: f"don't bother; {aspect_is(s1, asp1)}.",
        lambda: f"i was bored: {aspect_is(s1, asp1)} and {aspect_is(s2, asp2)}.",
        lambda: f"it isn't {pos}, just {n1}.",
        lambda: f"{rng.choice(DOWNERS)} {n1}, with {with_aspect(s1, asp1)}.",
        lambda: f"what {article(n1)} {n1} {film}!",
        lambda: f"the trailer promised something {pos}, but the {film} is {n1}.",
        lambda: f"{rng.choice(SURFACE_PRAISE)}, but {aspect_is(s1, asp1)} and it {rng.choice(NEG_ENDINGS)}.",
        lambda: f"i kept checking my watch; {aspect_is(s1, asp1)}.",
    ]
    return rng.choice(templates)()


def unique_reviews(rng: random.Random, make, count: int, seen: set) -> list:
    texts = []
    while len(texts) < count:
        text = make(rng)
        if rng.random() < 0.25:
            text = text[:1].upper() + text[1:]
            text = re.sub(r"\bi\b", "I", text)
        key = normalise(text)
        if key not in seen:
            seen.add(key)
            texts.append(text)
    return texts


def generate_reviews(rng: random.Random) -> tuple[list, list]:
    seen: set[str] = set()
    half_train, half_dev = REVIEW_TRAIN_SIZE // 2, REVIEW_DEV_SIZE // 2
    splits = {"train": [], "dev": []}
    for label, make in (("positive", positive_review),
                        ("negative", negative_review)):
        texts = unique_reviews(rng, make, half_train + half_dev, seen)
        for text in texts[:half_train]:
            splits["train"].append({"text": text, "label": label})
        for text in texts[half_train:]:
            splits["dev"].append({"text": text, "label": label})
    rng.shuffle(splits["train"])
    rng.shuffle(splits["dev"])
    return splits["train"], splits["dev"]


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def write_jsonl(path: Path, rows: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    rng = random.Random(SEED)
    flights_train, flights_dev = generate_flights(rng)
    reviews_train, reviews_dev = generate_reviews(rng)
    outputs = {
        "flights/train.jsonl": flights_train,
        "flights/dev.jsonl": flights_dev,
        "reviews/train.jsonl": reviews_train,
        "reviews/dev.jsonl": reviews_dev,
    }
    for name, rows in outputs.items():
        write_jsonl(DATA_DIR / name, rows)
        print(f"wrote {len(rows):4d} lines to {DATA_DIR / name}")


if __name__ == "__main__":
    main()
