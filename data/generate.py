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

FLIGHT_TRAIN_SIZE = 2000
FLIGHT_DEV_SIZE = 150
FLIGHT_TEST_SIZE = 300  # held-out cities only
REVIEW_TRAIN_SIZE = 400  # balanced: half positive, half negative
REVIEW_DEV_SIZE = 100

# --------------------------------------------------------------------------
# Flights: vocabulary
# --------------------------------------------------------------------------

# A large, varied pool: every continent, multi-word names, names in other scripts. A share of
# them is kept out of training entirely (dev-only and held-out), so that a model can only place them
# by the words around them.
CITIES = [
    # North America
    "taipei", "boston", "denver", "dallas", "atlanta", "pittsburgh", "baltimore",
    "philadelphia", "san francisco", "oakland", "new york", "los angeles",
    "salt lake city", "st. louis", "chicago", "seattle", "miami", "houston",
    "phoenix", "detroit", "minneapolis", "charlotte", "nashville", "orlando",
    "las vegas", "san diego", "portland", "cleveland", "milwaukee", "toronto",
    "vancouver", "washington", "memphis", "kansas city", "montreal",
    "new orleans", "san antonio", "austin", "honolulu", "anchorage", "calgary",
    "ottawa", "quebec city", "mexico city", "guadalajara", "cancun", "havana",
    "san juan", "panama city", "fort lauderdale", "tampa", "indianapolis",
    "columbus", "cincinnati", "sacramento", "san jose", "albuquerque", "tucson",
    "el paso", "oklahoma city", "omaha", "des moines", "boise", "winnipeg",
    "edmonton", "halifax", "monterrey",
    # South America
    "são paulo", "rio de janeiro", "buenos aires", "santiago", "lima", "bogotá",
    "quito", "caracas", "montevideo", "la paz", "asunción", "medellín",
    "recife", "brasília",
    # Europe
    "london", "paris", "zürich", "oslo", "reykjavik", "dublin", "edinburgh",
    "manchester", "amsterdam", "brussels", "berlin", "munich", "frankfurt",
    "vienna", "prague", "warsaw", "budapest", "rome", "milan", "madrid",
    "barcelona", "lisbon", "athens", "istanbul", "stockholm", "helsinki",
    "copenhagen", "geneva", "st. petersburg", "kraków", "bucharest", "sofia",
    "belgrade", "zagreb", "kyiv", "riga", "tallinn", "vilnius", "porto",
    "seville", "naples", "venice", "nice", "lyon", "marseille", "hamburg",
    "düsseldorf", "rotterdam", "bergen", "gothenburg", "málaga",
    # Africa
    "cairo", "nairobi", "lagos", "accra", "addis ababa", "johannesburg",
    "cape town", "casablanca", "marrakesh", "tunis", "algiers", "dakar",
    "kinshasa", "luanda", "dar es salaam", "kampala", "kigali", "harare",
    "lusaka", "abuja", "windhoek", "maputo", "antananarivo",
    # Asia
    "tokyo", "seoul", "osaka", "beijing", "shanghai", "hong kong", "guangzhou",
    "shenzhen", "chengdu", "singapore", "bangkok", "kuala lumpur", "jakarta",
    "manila", "hanoi", "ho chi minh city", "phnom penh", "yangon", "new delhi",
    "mumbai", "bangalore", "chennai", "kolkata", "karachi", "lahore", "dhaka",
    "kathmandu", "colombo", "dubai", "abu dhabi", "doha", "riyadh", "tel aviv",
    "amman", "beirut", "tehran", "tashkent", "almaty", "ulaanbaatar",
    "kaohsiung", "busan", "sapporo", "fukuoka", "chiang mai", "denpasar",
    # Oceania
    "sydney", "melbourne", "brisbane", "perth", "auckland", "wellington",
    "christchurch", "adelaide", "nadi", "port moresby",
    # more, many of several words
    "fort worth", "colorado springs", "virginia beach", "long beach", "santa fe",
    "santa barbara", "san luis obispo", "grand rapids", "green bay", "baton rouge",
    "little rock", "palm springs", "corpus christi", "st. paul", "jersey city",
    "ann arbor", "cedar rapids", "sioux falls", "key west", "myrtle beach",
    "fort myers", "west palm beach", "new haven", "san salvador", "santo domingo",
    "port of spain", "porto alegre", "belo horizonte", "ciudad juárez",
    "puerto vallarta", "los cabos", "mar del plata", "punta cana", "kota kinabalu",
    "siem reap", "da nang", "luang prabang", "chiang rai", "phu quoc", "port louis",
    "victoria falls", "port elizabeth", "la rochelle", "san sebastián",
    "santiago de compostela", "palma de mallorca", "las palmas", "santa cruz",
    "the hague", "aix-en-provence", "baden-baden", "stratford-upon-avon",
    "newcastle upon tyne", "milton keynes", "bandar seri begawan", "nizhny novgorod",
    "rostov-on-don", "sharm el sheikh", "port harcourt", "bobo-dioulasso",
    "ouagadougou", "nouakchott", "yamoussoukro", "lubumbashi", "mombasa",
    "zanzibar", "arusha", "gaborone", "bulawayo", "lilongwe", "port said",
    "alexandria", "tripoli", "khartoum", "mogadishu", "djibouti", "asmara", "bamako",
    "niamey", "conakry", "freetown", "monrovia", "lomé", "cotonou", "douala",
    "yaoundé", "libreville", "brazzaville", "salvador", "fortaleza", "manaus",
    "cusco", "arequipa", "cartagena", "cali", "valparaíso", "punta arenas",
    "san josé", "managua", "tegucigalpa", "guatemala city", "belize city",
    "nassau", "kingston", "montego bay", "bridgetown", "st. john's", "thunder bay",
    "saskatoon", "regina", "victoria", "kelowna", "whitehorse", "yellowknife",
    "fairbanks", "juneau", "spokane", "eugene", "reno", "fresno", "bakersfield",
    "santa rosa", "palo alto", "san mateo", "mountain view", "el cajon",
    "hilo", "kona", "lihue", "kahului", "bozeman", "billings", "missoula",
    "cheyenne", "rapid city", "fargo", "bismarck", "duluth", "madison", "peoria",
    "springfield", "lexington", "louisville", "knoxville", "chattanooga",
    "birmingham", "montgomery", "mobile", "jackson", "shreveport", "lubbock",
    "amarillo", "midland", "wichita", "tulsa", "little falls", "charleston",
    "savannah", "jacksonville", "tallahassee", "pensacola", "raleigh", "durham",
    "greensboro", "richmond", "norfolk", "harrisburg", "allentown", "buffalo",
    "rochester", "syracuse", "albany", "hartford", "providence", "burlington",
    "bangor", "atlantic city",
    "glasgow", "cardiff", "belfast", "cork", "galway", "bristol", "liverpool",
    "leeds", "antwerp", "ghent", "bruges", "utrecht", "eindhoven", "cologne",
    "stuttgart", "dresden", "leipzig", "nuremberg", "bremen", "hanover", "salzburg",
    "innsbruck", "graz", "basel", "bern", "lausanne", "lugano", "turin", "genoa",
    "bologna", "florence", "pisa", "palermo", "catania", "bari", "valencia",
    "bilbao", "granada", "córdoba", "toulouse", "bordeaux", "nantes", "strasbourg",
    "lille", "montpellier", "ajaccio", "faro", "funchal", "ponta delgada",
    "thessaloniki", "heraklion", "rhodes", "dubrovnik", "split", "ljubljana",
    "bratislava", "brno", "wrocław", "gdańsk", "poznań", "łódź", "lviv", "odesa",
    "minsk", "chișinău", "tbilisi", "yerevan", "baku", "antalya", "izmir", "ankara",
    "bodrum", "larnaca", "paphos", "valletta", "tromsø", "stavanger", "trondheim",
    "malmö", "uppsala", "tampere", "turku", "aarhus", "billund", "tórshavn",
    "nuuk", "akureyri", "muscat", "kuwait city", "manama", "jeddah", "medina",
    "mecca", "baghdad", "erbil", "islamabad", "peshawar", "hyderabad", "ahmedabad",
    "pune", "jaipur", "goa", "kochi", "thiruvananthapuram", "varanasi", "lucknow",
    "chittagong", "male", "thimphu", "paro", "mandalay", "vientiane", "cebu",
    "davao", "surabaya", "yogyakarta", "medan", "makassar", "penang", "johor bahru",
    "kuching", "nha trang", "hue", "xiamen", "hangzhou", "nanjing", "wuhan",
    "kunming", "xi'an", "harbin", "dalian", "qingdao", "chongqing", "macau",
    "taichung", "tainan", "hualien", "okinawa", "nagoya", "kyoto", "hiroshima",
    "sendai", "kagoshima", "jeju", "incheon", "daegu", "vladivostok", "irkutsk",
    "novosibirsk", "yekaterinburg", "kazan", "sochi", "bishkek", "dushanbe",
    "ashgabat", "samarkand", "bukhara", "hobart", "darwin", "cairns", "gold coast",
    "alice springs", "queenstown", "dunedin", "rotorua", "suva", "apia",
    "nuku'alofa", "papeete", "nouméa", "port vila", "honiara",
    "abu simbel", "ras al khaimah", "puerto princesa", "san pedro sula",
    "santa cruz de tenerife", "las cruces", "san carlos de bariloche", "puerto montt",
    "ciudad del este", "santa marta", "san miguel de allende", "puerto escondido",
    "bahía blanca", "campo grande", "foz do iguaçu", "ilha grande", "vila velha",
    "kuala terengganu", "kota bharu", "alor setar", "koh samui", "hat yai",
    "nakhon ratchasima", "udon thani", "cam ranh", "buon ma thuot", "puerto del carmen",
    "sankt moritz", "garmisch partenkirchen", "bad reichenhall", "cortina d'ampezzo",
    "reggio calabria", "lamezia terme", "san marino", "monte carlo", "le mans",
    "saint tropez", "clermont ferrand", "les sables d'olonne", "ciudad real",
    "jerez de la frontera", "alcalá de henares", "vila nova de gaia",
    "port sudan", "wadi halfa", "sidi bouzid", "el jadida", "ait ben haddou",
    "cape coast", "bir lehlou", "grand bassam", "porto novo", "ile ife",
    "port blair", "navi mumbai", "nuwara eliya", "ulan ude", "petropavlovsk kamchatsky",
    "yuzhno sakhalinsk", "new plymouth", "palmerston north", "port hedland",
    "coffs harbour", "mount isa", "port augusta", "broken hill", "st. george",
    "kingston upon hull", "burton upon trent", "stoke on trent", "southend on sea",
    "henley on thames", "walton on thames", "isle of man", "isle of wight", "isle of skye",
    "bay of islands", "bay of plenty", "rio do sul", "são josé do rio preto", "ponta do sol",
    "la coruña", "la serena", "la plata", "la romana", "la ceiba", "la spezia", "la palma",
    "villa de leyva", "san cristóbal de las casas", "puerto de la cruz", "vitória da conquista",
    "castillo de san marcos", "frankfurt an der oder", "halle an der saale", "rothenburg ob der tauber",
    # written in other scripts
    "台北", "東京", "北京", "上海", "香港", "大阪", "서울", "부산", "москва",
    "санкт-петербург", "київ", "αθήνα", "القاهرة", "دبي", "תל אביב", "मुंबई",
    "दिल्ली", "กรุงเทพ",
]
ALWAYS_TRAIN = {  # the README's and the lesson's examples
    "taipei", "台北", "boston", "denver", "zürich", "london", "tokyo", "san francisco",
}
ALWAYS_HELD_OUT = {"reykjavik", "nairobi", "oslo", "montreal", "kansas city", "buenos aires"}
HELD_OUT_SHARE = 0.25  # of the cities: never in train or dev; the test split uses only these
DEV_ONLY_SHARE = 0.10  # of the cities: in dev, never in train
DEV_ONLY_CITY_RATE = 0.5  # chance that a dev city slot uses a dev-only city


def split_cities(cities: list, always_train: set, always_held_out: set, seed: int) -> tuple[list, list, list]:
    """(train, dev-only, held-out) city pools, drawn once with their own seed."""
    free = sorted(set(cities) - always_train - always_held_out)
    random.Random(seed).shuffle(free)
    held = round(HELD_OUT_SHARE * len(cities)) - len(always_held_out)
    dev = round(DEV_ONLY_SHARE * len(cities))
    held_out = sorted(always_held_out) + free[:held]
    dev_only = free[held:held + dev]
    train = sorted(always_train) + free[held + dev:]
    return train, dev_only, held_out


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
        "{drel} {dday}", "{drel} {dday} (morning|afternoon|evening)", "{dtoday}",
        "{dtoday} (at|around|before|after) {dtime}", "{dtoday} in the {inperiod}",
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
        (3, "book (a|me a) (ticket|flight|seat) to {to} (departing|leaving|flying) (from |out of |){from}[ {dwhen}]"),
        (2, "(i'm|we're) flying (out of|from) {from} (to|into) {to}[ {dwhen}]"),
        (2, "{from} to {to}[ {dwhen}]"),
        (2, "(i'm|we're) in {from} and (need|want|have) to (get|go) to {to}[ {dwhen}]"),
        (2, "(get|book) me (on |)a flight to {to} (from|out of) {from}[ {dwhen}]"),
        (2, "(traveling|travelling|going) from {from} to {to}[ {dwhen}]"),
        (2, "departing (from |){from}[ {dwhen}] and arriving in {to}"),
        (1, "my trip is from {from} to {to}[ {dwhen}]"),
        (2, "(a flight|flights|tickets) to {to} (from|out of|leaving) {from}[ {dwhen}]"),
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

def expand(template: str, rng: random.Random, macros: dict | None = None) -> str:
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
        table = MACROS if macros is None else macros
        if name not in table:
            return match.group(0)
        return expand(rng.choice(table[name]), rng, table)

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
    "drel": lambda ctx: [(ctx.rng.choice(["next", "this"]), "depart_date.date_relative")],
    "dtoday": lambda ctx: [(ctx.rng.choice(["tomorrow", "today"]), "depart_date.today_relative")],
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


def long_name(name: str) -> bool:
    """A name of several words, or of three or more Chinese characters."""
    return " " in name or (len(name) >= 3 and "\u4e00" <= name[0] <= "\u9fff")


class Deck:
    """City names dealt in turn from a shuffled pool: every name comes up again only after all the
    others (varied splits, no name dominating one). In training, long names come up twice a round,
    so that where a name ends is learned."""

    def __init__(self, names: list, rng: random.Random, long_twice: bool = False):
        self.names = list(names) + [n for n in names if long_twice and long_name(n)]
        self.rng = rng
        self.left: list[str] = []

    def draw(self) -> str:
        if not self.left:
            self.left = self.names[:]
            self.rng.shuffle(self.left)
        return self.left.pop()


class SentenceContext:
    """Per-sentence state: where city names come from, and the ones already used."""

    def __init__(self, rng: random.Random, deck: Deck, extra: Deck | None = None, extra_rate: float = 0.0):
        self.rng, self.deck, self.extra, self.extra_rate = rng, deck, extra, extra_rate
        self.used: list[str] = []

    def city(self) -> str:
        while True:
            deck = self.extra if self.extra and self.rng.random() < self.extra_rate else self.deck
            name = deck.draw()
            if name not in self.used:
                self.used.append(name)
                return name


def fill(template: str, ctx: SentenceContext, fillers: dict | None = None) -> list:
    """Turn an expanded template into (text, label-or-None) segments."""
    segments = []
    for i, part in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2 == 0:
            if part:
                segments.append((part, None))
        else:
            segments.extend((SLOT_FILLERS if fillers is None else fillers)[part](ctx))
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


def english_style(segments: list, rng: random.Random) -> list:
    """Articles, punctuation and sometimes natural capitalisation."""
    segments = add_punctuation(fix_articles(segments), rng)
    return capitalise(segments) if rng.random() < STYLED_RATE else segments


def flight_example(rng: random.Random, ctx: SentenceContext, language: dict) -> dict:
    """One random sentence: intent, template, slot values, surface style."""
    weights = language["intents"]
    intent = rng.choices(list(weights), weights=list(weights.values()))[0]
    template = expand(weighted_choice(rng, language["templates"][intent]), rng, language["macros"])
    segments = fill(template, ctx, language["fillers"])
    return assemble(language["style"](segments, rng), intent)


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
    return " ".join(re.sub(r"[?.,!，。？！、]", " ", text.lower()).split())


def generate_flights(rng: random.Random, language: dict) -> tuple[list, list, list]:
    """(train, dev, test): train names only training cities; dev adds dev-only cities; test names
    only held-out cities, which no train or dev sentence contains."""
    train_cities, dev_cities, held_out = split_cities(
        language["cities"], language["always_train"], language["always_held_out"], language["seed"])
    seen: set[str] = set()

    def split(first: list, size: int, pool: list, extra: list = (), rate: float = 0.0, training: bool = False) -> list:
        deck, extra_deck = Deck(pool, rng, long_twice=training), Deck(extra, rng) if extra else None
        rows = []
        for example in first:
            seen.add(normalise(example["text"]))
            rows.append(example)
        while len(rows) < size:
            example = flight_example(rng, SentenceContext(rng, deck, extra_deck, rate), language)
            key = normalise(example["text"])
            if key not in seen:
                seen.add(key)
                rows.append(example)
        return rows

    sizes = language["sizes"]
    train = split(language["classics"], sizes[0], train_cities, training=True)
    dev = split([], sizes[1], train_cities, dev_cities, DEV_ONLY_CITY_RATE)
    test = split([], sizes[2], held_out)
    rng.shuffle(train)
    return train, dev, test


ENGLISH = {
    "seed": SEED, "cities": CITIES, "always_train": ALWAYS_TRAIN, "always_held_out": ALWAYS_HELD_OUT,
    "intents": INTENT_WEIGHTS, "templates": FLIGHT_TEMPLATES, "macros": MACROS, "fillers": SLOT_FILLERS,
    "style": english_style, "classics": classic_examples(),
    "sizes": (FLIGHT_TRAIN_SIZE, FLIGHT_DEV_SIZE, FLIGHT_TEST_SIZE),
}


# --------------------------------------------------------------------------
# Flights in Chinese: the same slot and intent names, one token per character
# --------------------------------------------------------------------------

ZH_CITIES = [
    # 中国大陆、港澳台
    "台北", "高雄", "台中", "台南", "花莲", "北京", "上海", "广州", "深圳", "香港", "澳门",
    "成都", "重庆", "西安", "杭州", "南京", "武汉", "长沙", "昆明", "厦门", "青岛", "大连",
    "沈阳", "哈尔滨", "天津", "郑州", "济南", "福州", "南宁", "海口", "三亚", "贵阳", "兰州",
    "乌鲁木齐", "拉萨", "呼和浩特", "银川", "西宁", "太原", "石家庄", "合肥", "南昌", "桂林",
    "丽江", "长春", "温州", "宁波", "珠海",
    # 亚洲
    "东京", "大阪", "名古屋", "札幌", "福冈", "冲绳", "首尔", "釜山", "济州", "曼谷", "清迈",
    "普吉", "新加坡", "吉隆坡", "雅加达", "巴厘岛", "马尼拉", "河内", "胡志明市", "金边",
    "仰光", "新德里", "孟买", "加尔各答", "班加罗尔", "加德满都", "科伦坡", "迪拜", "阿布扎比",
    "多哈", "利雅得", "特拉维夫", "德黑兰", "塔什干", "阿拉木图", "乌兰巴托",
    # 欧洲
    "伦敦", "巴黎", "苏黎世", "日内瓦", "奥斯陆", "雷克雅未克", "都柏林", "爱丁堡", "曼彻斯特",
    "阿姆斯特丹", "布鲁塞尔", "柏林", "慕尼黑", "法兰克福", "汉堡", "维也纳", "布拉格", "华沙",
    "布达佩斯", "罗马", "米兰", "威尼斯", "马德里", "巴塞罗那", "里斯本", "雅典", "伊斯坦布尔",
    "斯德哥尔摩", "赫尔辛基", "哥本哈根", "莫斯科", "圣彼得堡", "基辅", "里加", "塔林",
    # 非洲
    "开罗", "内罗毕", "拉各斯", "阿克拉", "亚的斯亚贝巴", "约翰内斯堡", "开普敦",
    "卡萨布兰卡", "马拉喀什", "突尼斯", "达喀尔", "金沙萨", "达累斯萨拉姆", "坎帕拉", "基加利",
    # 美洲
    "波士顿", "纽约", "洛杉矶", "旧金山", "芝加哥", "西雅图", "丹佛", "达拉斯", "亚特兰大",
    "匹兹堡", "费城", "华盛顿", "迈阿密", "休斯顿", "凤凰城", "底特律", "拉斯维加斯",
    "圣地亚哥", "波特兰", "檀香山", "安克雷奇", "多伦多", "温哥华", "蒙特利尔", "卡尔加里",
    "墨西哥城", "坎昆", "哈瓦那", "波哥大", "利马", "基多", "布宜诺斯艾利斯", "里约热内卢",
    "圣保罗", "蒙得维的亚",
    # 大洋洲
    "悉尼", "墨尔本", "布里斯班", "珀斯", "奥克兰", "惠灵顿", "基督城", "阿德莱德",
    # 更多
    "苏州", "无锡", "常州", "扬州", "徐州", "烟台", "威海", "潍坊", "洛阳", "开封", "大同", "包头",
    "鄂尔多斯", "齐齐哈尔", "牡丹江", "佳木斯", "延吉", "丹东", "锦州", "秦皇岛", "唐山", "保定",
    "邯郸", "赣州", "九江", "景德镇", "黄山", "芜湖", "安庆", "宜昌", "襄阳", "十堰", "恩施",
    "张家界", "岳阳", "常德", "衡阳", "郴州", "韶关", "汕头", "湛江", "梅州", "惠州", "佛山",
    "东莞", "中山", "江门", "北海", "柳州", "百色", "遵义", "铜仁", "六盘水", "大理", "西双版纳",
    "香格里拉", "腾冲", "攀枝花", "绵阳", "宜宾", "泸州", "南充", "达州", "九寨沟", "汉中", "榆林",
    "延安", "敦煌", "嘉峪关", "张掖", "酒泉", "格尔木", "喀什", "伊宁", "阿克苏", "库尔勒",
    "克拉玛依", "吐鲁番", "和田", "日喀则", "林芝", "昌都", "满洲里", "海拉尔", "赤峰", "通辽",
    "锡林浩特", "二连浩特", "阿尔山", "舟山", "台州", "义乌", "衢州", "连云港", "盐城", "南通",
    "淮安", "泉州", "武夷山", "三明", "龙岩", "嘉义", "台东", "马公", "金门", "屏东",
    "马赛", "里昂", "尼斯", "波尔多", "图卢兹", "科隆", "斯图加特", "德累斯顿", "汉诺威", "萨尔茨堡",
    "因斯布鲁克", "巴塞尔", "伯尔尼", "洛桑", "都灵", "热那亚", "博洛尼亚", "佛罗伦萨", "那不勒斯",
    "巴勒莫", "瓦伦西亚", "毕尔巴鄂", "格拉纳达", "塞维利亚", "波尔图", "马拉加", "格拉斯哥",
    "利物浦", "伯明翰", "布里斯托尔", "贝尔法斯特", "卡迪夫", "安特卫普", "鹿特丹", "海牙",
    "乌得勒支", "哥德堡", "马尔默", "卑尔根", "特罗姆瑟", "图尔库", "坦佩雷", "奥胡斯", "克拉科夫",
    "格但斯克", "弗罗茨瓦夫", "布尔诺", "布拉迪斯拉发", "卢布尔雅那", "萨格勒布", "杜布罗夫尼克",
    "贝尔格莱德", "索非亚", "布加勒斯特", "第比利斯", "埃里温", "巴库", "安卡拉", "安塔利亚",
    "伊兹密尔", "塞萨洛尼基", "拉纳卡", "瓦莱塔", "明斯克", "敖德萨", "利沃夫", "喀山", "索契",
    "新西伯利亚", "叶卡捷琳堡", "伊尔库茨克", "符拉迪沃斯托克", "哈巴罗夫斯克", "比什凯克", "杜尚别",
    "阿什哈巴德", "撒马尔罕", "马斯喀特", "科威特城", "麦纳麦", "吉达", "麦地那", "巴格达",
    "埃尔比勒", "伊斯兰堡", "拉合尔", "卡拉奇", "海得拉巴", "艾哈迈达巴德", "浦那", "斋浦尔", "果阿",
    "科钦", "瓦拉纳西", "勒克瑙", "吉大港", "达卡", "马累", "廷布", "曼德勒", "万象", "琅勃拉邦",
    "暹粒", "岘港", "芽庄", "宿务", "达沃", "泗水", "日惹", "棉兰", "槟城", "新山", "古晋", "亚庇",
    "京都", "广岛", "仙台", "鹿儿岛", "神户", "横滨", "大邱", "仁川", "光州",
    "奥兰多", "坦帕", "纳什维尔", "孟菲斯", "新奥尔良", "圣安东尼奥", "奥斯汀", "盐湖城", "萨克拉门托",
    "圣何塞", "巴尔的摩", "克利夫兰", "哥伦布", "辛辛那提", "印第安纳波利斯", "密尔沃基", "堪萨斯城",
    "圣路易斯", "明尼阿波利斯", "夏洛特", "罗利", "里士满", "诺福克", "布法罗", "罗切斯特", "奥尔巴尼",
    "哈特福德", "普罗维登斯", "渥太华", "魁北克城", "埃德蒙顿", "温尼伯", "哈利法克斯", "瓜达拉哈拉",
    "蒙特雷", "巴拿马城", "圣胡安", "圣多明各", "金斯敦", "拿骚", "加拉加斯", "麦德林", "卡塔赫纳",
    "瓜亚基尔", "拉巴斯", "亚松森", "库斯科", "阿雷基帕", "巴西利亚", "萨尔瓦多", "福塔莱萨", "累西腓",
    "马瑙斯", "阿雷格里港", "贝洛奥里藏特", "科尔多瓦", "门多萨", "乌斯怀亚", "瓦尔帕莱索",
    "亚历山大", "卢克索", "阿斯旺", "喀土穆", "摩加迪沙", "吉布提", "阿斯马拉", "蒙巴萨", "桑给巴尔",
    "阿鲁沙", "卢萨卡", "哈拉雷", "布拉瓦约", "马普托", "温得和克", "哈博罗内", "德班", "伊丽莎白港",
    "塔那那利佛", "路易港", "阿布贾", "卡诺", "哈科特港", "洛美", "科托努", "杜阿拉", "雅温得",
    "利伯维尔", "布拉柴维尔", "罗安达", "卢本巴希", "巴马科", "尼亚美", "瓦加杜古", "科纳克里",
    "弗里敦", "蒙罗维亚", "阿比让", "努瓦克肖特", "的黎波里", "阿尔及尔", "拉巴特", "非斯", "丹吉尔",
    "黄金海岸", "凯恩斯", "达尔文", "霍巴特", "堪培拉", "皇后镇", "但尼丁", "罗托鲁瓦", "苏瓦", "楠迪",
    "帕皮提", "努美阿", "关岛", "塞班",
    # 中文句子里的拉丁字母地名
    "Boston", "Paris", "Tokyo", "London", "Seattle", "Denver", "Oslo", "Nairobi",
    "Reykjavik", "Lisbon", "Dubai", "Vancouver", "Berlin", "Madrid", "Rome", "Cairo", "Lima",
    "Quito", "Sydney", "Perth", "Seoul", "Osaka", "Hanoi", "Manila", "Doha", "Tehran", "Dallas",
    "Chicago", "Miami", "Houston", "Atlanta", "Phoenix", "Toronto", "Montreal", "Geneva", "Zurich",
    "Vienna", "Prague", "Warsaw", "Athens", "Dublin", "Helsinki", "Stockholm", "Copenhagen",
    "Amsterdam", "Brussels", "Milan", "Munich", "Hamburg", "Lagos", "Accra", "Dakar", "Tunis",
    "Casablanca", "Mumbai", "Delhi", "Chennai", "Karachi", "Lahore", "Dhaka", "Colombo",
    "Kathmandu", "Bangkok", "Jakarta", "Singapore", "Auckland", "Wellington", "Honolulu",
    "San Francisco", "Los Angeles", "New York", "Las Vegas", "Buenos Aires", "Rio de Janeiro",
    "Mexico City", "Cape Town", "Kuala Lumpur", "Hong Kong", "Tel Aviv", "Abu Dhabi",
]
ZH_ALWAYS_TRAIN = {"台北", "波士顿", "北京", "上海", "东京", "伦敦", "Boston"}
ZH_ALWAYS_HELD_OUT = {"雷克雅未克", "内罗毕", "布宜诺斯艾利斯", "奥斯陆", "Reykjavik"}
ZH_DIGITS = "零一二三四五六七八九"
ZH_WEEKDAYS = ["一", "二", "三", "四", "五", "六", "日"]
ZH_AIRLINES = [
    "中华航空", "华航", "长荣航空", "国航", "中国国航", "东方航空", "东航", "南方航空", "南航",
    "海南航空", "国泰航空", "日本航空", "全日空", "大韩航空", "新加坡航空", "美联航", "达美航空",
    "汉莎航空", "法航", "英航",
]
ZH_PERIODS = ["上午", "下午", "晚上", "早上", "中午", "凌晨"]


def zh_number(n: int) -> str:
    """1..31 in Chinese numerals: 二, 十一, 二十三."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else ZH_DIGITS[tens]) + "十" if tens else "") + (ZH_DIGITS[ones] if ones else "")


def zh_month_day(rng: random.Random, prefix: str) -> list:
    """'十一月' + '二号' or '11月' + '2日' as labelled segments."""
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    if rng.random() < 0.3:
        return [(f"{month}月", f"{prefix}.month_name"), (f"{day}{rng.choice('号日')}", f"{prefix}.day_number")]
    return [(f"{zh_number(month)}月", f"{prefix}.month_name"), (f"{zh_number(day)}{rng.choice('号号日')}", f"{prefix}.day_number")]


def zh_time(rng: random.Random) -> str:
    """'三点', '九点半', '8点30分', '十点一刻'."""
    hour = rng.randint(1, 12)
    style = rng.random()
    if style < 0.3:
        return f"{hour}点" + rng.choice(["", "半", "30分", "15分", "45分"])
    return f"{zh_number(hour)}点" + rng.choice(["", "", "半", "一刻", "三十分"])


ZH_MACROS = {
    "want": ["我想", "我要", "我打算", "我需要", "我们想", "我想要", "我准备"],
    "help": ["帮我", "请帮我", "麻烦帮我", "给我", "请"],
    "ticket": ["机票", "航班", "飞机票", "票"],
    "dwhen": [
        "{ddate}", "{ddate}", "{ddate}{period}", "{ddate}{period}{dtime}", "{dday}", "{drel}{dday}",
        "{dtoday}", "{dtoday}{period}", "{dtoday}{period}{dtime}", "{period}{dtime}",
    ],
}
ZH_TEMPLATES = {
    "atis_flight": [
        (8, "{want}[{dwhen}]从{from}飞到{to}"),
        (5, "{want}[{dwhen}]从{from}飞往{to}"),
        (5, "[{dwhen}]{from}到{to}的(航班|机票|飞机)"),
        (5, "{want}[{dwhen}]从{from}出发(去|到|飞往|前往){to}"),
        (4, "{want}到{to}去，[{dwhen}]从{from}出发"),
        (3, "{want}[{dwhen}]飞往{to}"),
        (4, "{want}{mdate}离开{from}"),
        (4, "{want}{adate}到达{to}"),
        (3, "{want}{adate}抵达{to}"),
        (2, "{want}[{adate}]{atime}(之前|以前|左右)(到达|抵达|到){to}"),
        (2, "{want}从{from}飞{to}，{atime}(之前|以前)到"),
        (3, "{want}[{dwhen}]离开{from}，飞往{to}"),
        (3, "{want}[{dwhen}]从{from}(出发|起飞)，{adate}抵达{to}"),
        (3, "{want}{mdate}离开{from}，{adate}到达{to}"),
        (4, "(有没有|有什么|查一下|看看)[{dwhen}](从|){from}(到|飞|飞往|去){to}的航班"),
        (4, "{help}(订|买)一张[{dwhen}](从|){from}(到|飞往|去){to}的[{rt}]{ticket}"),
        (3, "{help}(订|买)一张去{to}的{ticket}，[{dwhen}]从{from}出发"),
        (3, "{want}坐{airline}[{dwhen}]从{from}飞{to}"),
        (2, "{want}(订|买)一张{from}到{to}的{class}{ticket}"),
        (3, "[{dwhen}]{from}飞{to}的航班(有哪些|有吗|还有票吗)"),
        (2, "{want}[{dwhen}]到{to}去，(从|在){from}上飞机"),
        (2, "{want}回{to}，现在在{from}"),
        (3, "{from}(出发|起飞)到{to}[，{dwhen}]"),
        (3, "{want}[{dwhen}](从|由){from}(前往|去|飞去){to}"),
        (2, "(查询|查)[{dwhen}](从|){from}(至|到){to}的航班"),
        (2, "{help}(找|查)一下{cost}的[{dwhen}]从{from}到{to}的航班"),
        (2, "{want}[{dwhen}]去{to}，从{from}走"),
        (2, "[{dwhen}](有|有没有){airline}的{from}到{to}的航班"),
    ],
    "atis_airfare": [
        (3, "[{dwhen}]从{from}到{to}的(机票|票)多少钱"),
        (3, "{from}飞{to}{cost}的(机票|票)(多少钱|是多少)"),
        (2, "{from}到{to}的{class}(票价|机票价格)是多少"),
        (2, "{from}到{to}{rt}(机票|票)多少钱"),
    ],
    "atis_airline": [
        (3, "(哪些|哪家)航空公司(有|飞)(从|){from}(到|飞|飞往){to}的航班"),
        (2, "从{from}飞{to}有哪些航空公司"),
    ],
    "atis_flight_time": [
        (3, "[{dwhen}]从{from}到{to}的航班几点(起飞|出发)"),
        (2, "{airline}从{from}飞{to}的航班什么时候(起飞|到)"),
        (2, "(从|){from}飞往{to}的航班几点到达"),
    ],
}
ZH_FILLERS = {
    "from": lambda ctx: [(ctx.city(), "fromloc.city_name")],
    "to": lambda ctx: [(ctx.city(), "toloc.city_name")],
    "ddate": lambda ctx: zh_month_day(ctx.rng, "depart_date"),
    "mdate": lambda ctx: zh_month_day(ctx.rng, "depart_date"),
    "adate": lambda ctx: zh_month_day(ctx.rng, "arrive_date"),
    "dday": lambda ctx: [(ctx.rng.choice(["星期", "周", "礼拜"]) + ctx.rng.choice(ZH_WEEKDAYS), "depart_date.day_name")],
    "drel": lambda ctx: [(ctx.rng.choice(["下", "这"]), "depart_date.date_relative")],
    "dtoday": lambda ctx: [(ctx.rng.choice(["明天", "今天", "后天"]), "depart_date.today_relative")],
    "dtime": lambda ctx: [(zh_time(ctx.rng), "depart_time.time")],
    "atime": lambda ctx: [(zh_time(ctx.rng), "arrive_time.time")],
    "period": lambda ctx: [(ctx.rng.choice(ZH_PERIODS), "depart_time.period_of_day")],
    "airline": lambda ctx: [(ctx.rng.choice(ZH_AIRLINES), "airline_name")],
    "rt": lambda ctx: [(ctx.rng.choice(["往返", "单程", "来回"]), "round_trip")],
    "class": lambda ctx: [(ctx.rng.choice(["头等舱", "商务舱", "经济舱"]), "class_type")],
    "cost": lambda ctx: [(ctx.rng.choice(["最便宜", "最贵", "价格最低"]), "cost_relative")],
}


def chinese_style(segments: list, rng: random.Random) -> list:
    """Sometimes a polite opening, a final '。' or '？', or ', please' (请)."""
    segments = list(segments)
    if rng.random() < 0.1:
        segments.insert(0, (rng.choice(["你好，", "您好，", "嗯，", "那个，"]), None))
    if rng.random() < 0.25:
        question = any(q in "".join(t for t, _ in segments) for q in ("吗", "多少", "几点", "哪", "什么"))
        segments.append(("？" if question else "。", None))
    return segments


def chinese_classics() -> list:
    """The lesson's pair: 到达台北 is the destination, 离开台北 the departure."""
    arrive = [("我想", None), ("十一月", "arrive_date.month_name"), ("二号", "arrive_date.day_number"),
              ("到达", None), ("台北", "toloc.city_name")]
    leave = [("我想", None), ("十一月", "depart_date.month_name"), ("二号", "depart_date.day_number"),
             ("离开", None), ("台北", "fromloc.city_name")]
    return [assemble(arrive, "atis_flight"), assemble(leave, "atis_flight")]


CHINESE = {
    "seed": SEED + 2, "cities": ZH_CITIES, "always_train": ZH_ALWAYS_TRAIN, "always_held_out": ZH_ALWAYS_HELD_OUT,
    "intents": INTENT_WEIGHTS, "templates": ZH_TEMPLATES, "macros": ZH_MACROS, "fillers": ZH_FILLERS,
    "style": chinese_style, "classics": chinese_classics(),
    "sizes": (FLIGHT_TRAIN_SIZE, FLIGHT_DEV_SIZE, FLIGHT_TEST_SIZE),
}


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
    flights = generate_flights(random.Random(SEED), ENGLISH)
    flights_zh = generate_flights(random.Random(SEED + 2), CHINESE)
    reviews = generate_reviews(random.Random(SEED + 1))
    outputs = {}
    for folder, splits in (("flights", flights), ("flights-zh", flights_zh)):
        for name, rows in zip(("train", "dev", "test"), splits):
            outputs[f"{folder}/{name}.jsonl"] = rows
    outputs["reviews/train.jsonl"], outputs["reviews/dev.jsonl"] = reviews
    for name, rows in outputs.items():
        write_jsonl(DATA_DIR / name, rows)
        print(f"wrote {len(rows):4d} lines to {DATA_DIR / name}")


if __name__ == "__main__":
    main()
