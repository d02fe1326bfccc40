"""FAQ retrieval at scale: exact vs HNSW FAISS search over synthetic FAQ questions.

    python benchmarks/faq_scale_benchmark.py                                  # 100k and 1M entries
    python benchmarks/faq_scale_benchmark.py --sizes 20000 --queries 300      # a quick check
    python benchmarks/faq_scale_benchmark.py --sizes 10000,30000,100000 --methods exact

Generates N distinct FAQ-like questions (seeded; the first n of N are the same texts for any N) and
Q paraphrases of randomly chosen stored questions, keeping each paraphrase's source id. Texts are
embedded with the ONNX export of the default base encoder (2 threads) and cached as float16 under
--cache-dir in 50k-row chunks keyed by seed and position, so a rerun, or a smaller N, embeds nothing.

Per size: builds the exact index and the HNSW index through agent.faq.index.QuestionIndex (build
seconds, VmRSS growth, theoretical bytes), then searches one query at a time on one FAISS thread, as a
serving process does, fetching --k rows (the FAQ bank fetches at least 50). Reports p50/p99 latency,
HNSW recall@1 against exact (same top-1 row), whether exact's top-1 is in HNSW's top k (what the bank's
exact rescoring can recover), and the top-1 accuracy of each against the paraphrase's source, for
every efSearch in --ef. Prints JSON lines, then a short summary.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GENERATOR_VERSION = 1
CHUNK = 50_000
DRAW_BLOCK = 65_536

# ---------------------------------------------------------------------------------------------------
# Synthetic FAQ questions. Each slot word has synonyms used only by the paraphrases.

VERBS = [
    ("return", "send back"),
    ("cancel", "call off"),
    ("track", "follow"),
    ("exchange", "swap"),
    ("repair", "fix"),
    ("order", "buy"),
    ("rent", "hire"),
    ("book", "reserve"),
    ("insure", "get cover for"),
    ("register", "sign up"),
    ("activate", "turn on"),
    ("upgrade", "improve"),
    ("ship", "send"),
    ("pick up", "collect"),
    ("get a refund for", "get my money back for"),
    ("replace", "swap out"),
    ("reset", "restart"),
    ("update", "refresh"),
    ("transfer", "move"),
    ("pay for", "settle the bill for"),
    ("renew", "extend"),
    ("pause", "suspend"),
    ("unlock", "open"),
    ("recycle", "dispose of"),
    ("donate", "give away"),
    ("sell", "resell"),
    ("gift wrap", "wrap"),
    ("personalise", "customise"),
    ("clean", "wash"),
    ("store", "keep"),
    ("lend", "share"),
    ("delete", "remove"),
    ("report", "flag"),
    ("inspect", "check"),
    ("assemble", "put together"),
    ("install", "set up"),
    ("charge", "recharge"),
    ("borrow", "loan"),
    ("review", "rate"),
    ("price match", "match the price of"),
    ("deliver", "drop off"),
    ("collect points on", "earn rewards on"),
    ("split the payment for", "pay in instalments for"),
    ("trade in", "part exchange"),
    ("test", "try out"),
    ("measure", "size"),
    ("engrave", "etch"),
    ("service", "maintain"),
    ("authorise", "approve"),
    ("preorder", "order in advance"),
]
NOUNS = [
    ("jacket", "coat"),
    ("laptop", "notebook computer"),
    ("phone", "mobile"),
    ("sofa", "couch"),
    ("bicycle", "bike"),
    ("car", "vehicle"),
    ("ticket", "pass"),
    ("subscription", "membership"),
    ("package", "parcel"),
    ("order", "purchase"),
    ("gift card", "voucher"),
    ("mattress", "bed"),
    ("television", "TV"),
    ("fridge", "refrigerator"),
    ("washing machine", "washer"),
    ("sneakers", "trainers"),
    ("backpack", "rucksack"),
    ("suitcase", "luggage"),
    ("watch", "wristwatch"),
    ("headphones", "earphones"),
    ("tablet", "slate"),
    ("printer", "copier"),
    ("router", "modem"),
    ("stroller", "pram"),
    ("tent", "shelter"),
    ("drill", "power drill"),
    ("lawn mower", "mower"),
    ("vacuum cleaner", "hoover"),
    ("coffee machine", "espresso maker"),
    ("dishwasher", "dish washer"),
    ("desk", "work table"),
    ("office chair", "desk chair"),
    ("bookshelf", "bookcase"),
    ("lamp", "light"),
    ("rug", "carpet"),
    ("curtains", "drapes"),
    ("oven", "cooker"),
    ("microwave", "microwave oven"),
    ("kettle", "water boiler"),
    ("toaster", "toast maker"),
    ("blender", "mixer"),
    ("guitar", "acoustic guitar"),
    ("piano", "keyboard"),
    ("camera", "camcorder"),
    ("drone", "quadcopter"),
    ("scooter", "e-scooter"),
    ("helmet", "hard hat"),
    ("skis", "ski set"),
    ("snowboard", "board"),
    ("surfboard", "surf board"),
    ("kayak", "canoe"),
    ("fishing rod", "rod"),
    ("golf clubs", "golf set"),
    ("tennis racket", "racquet"),
    ("treadmill", "running machine"),
    ("dumbbells", "weights"),
    ("yoga mat", "exercise mat"),
    ("smart speaker", "voice assistant"),
    ("game console", "gaming console"),
    ("monitor", "screen"),
    ("keyboard", "typing keyboard"),
    ("mouse", "computer mouse"),
    ("hard drive", "disk"),
    ("sunglasses", "shades"),
    ("wedding dress", "bridal gown"),
    ("suit", "tuxedo"),
    ("boots", "footwear"),
    ("handbag", "purse"),
    ("wallet", "billfold"),
    ("ring", "band"),
    ("necklace", "pendant"),
    ("car seat", "child seat"),
    ("crib", "cot"),
    ("aquarium", "fish tank"),
    ("barbecue", "grill"),
]
MODIFIERS = [
    ("", ""),
    ("new", "brand-new"),
    ("old", "older"),
    ("spare", "extra"),
    ("second", "other"),
    ("replacement", "substitute"),
    ("business", "work"),
    ("personal", "own"),
    ("gifted", "gift"),
]
QUALIFIERS = [  # (stored form, paraphrase form); {n} takes a number
    ("after {n} days", "{n} days later"),
    ("within {n} hours", "in under {n} hours"),
    ("for {n} people", "for a group of {n}"),
    ("under {n} dollars", "for less than {n} dollars"),
    ("before {n} pm", "ahead of {n} pm"),
    ("after {n} weeks of use", "having used it {n} weeks"),
    ("for {n} months", "over a {n} month period"),
    ("with {n} items in the cart", "when the basket has {n} items"),
    ("older than {n} years", "over {n} years old"),
    ("on day {n} of the sale", "on the sale's day {n}"),
    ("with a {n} percent discount", "at {n} percent off"),
    ("from order number {n}", "on order no. {n}"),
]
NUMBERS = list(range(2, 32))
FIXED_QUALIFIERS = [
    ("without a receipt", "if I lost the receipt"),
    ("on weekends", "on a Saturday or Sunday"),
    ("with a gift card", "using a voucher"),
    ("during the holidays", "over the holiday season"),
    ("from abroad", "from another country"),
    ("bought online", "purchased on the website"),
    ("that arrived damaged", "that came broken"),
    ("that is missing parts", "with parts missing"),
    ("in the wrong size", "that does not fit"),
    ("in the wrong colour", "in a colour I did not order"),
    ("as a guest", "without an account"),
    ("with a student discount", "using my student card"),
    ("on a public holiday", "on a bank holiday"),
    ("after the warranty expired", "out of warranty"),
    ("with cash", "paying in cash"),
    ("by phone", "over the phone"),
    ("for someone else", "on behalf of a friend"),
    ("at night", "late in the evening"),
    ("with express delivery", "with next day shipping"),
    ("with a coupon", "using a promo code"),
    ("that I received as a present", "I was given as a gift"),
    ("with my loyalty card", "using my rewards card"),
    ("during a sale", "while it is on offer"),
    ("for a company", "for my employer"),
    ("for a child", "for my kid"),
    ("through the app", "using the mobile app"),
    ("in person", "face to face"),
    ("by post", "by mail"),
    ("urgently", "as soon as possible"),
    ("for free", "at no cost"),
]
QUALS = [(s.format(n=n), p.format(n=n)) for s, p in QUALIFIERS for n in NUMBERS] + FIXED_QUALIFIERS
BRANDS = [
    "Acme",
    "Northwind",
    "Contoso",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Massive Dynamic",
    "Oscorp",
    "Gringotts",
    "Dunder Mifflin",
    "Pied Piper",
    "Aperture",
    "Black Mesa",
    "Monarch",
    "Vault",
    "Blue Sun",
    "Weyland",
    "Nakatomi",
    "Gekko",
    "Duff",
    "Krusty",
    "Sterling",
    "Prestige",
    "Bluth",
    "Virtucon",
    "Zorg",
    "Rekall",
    "Omni",
    "Buy n Large",
    "Spacely",
    "Cogswell",
    "Ollivanders",
    "Mooby",
    "Sirius",
    "Nordic Home",
    "Sunrise",
    "Maple Leaf",
    "Red Rock",
    "Silver Lake",
    "Green Valley",
    "Blue Ocean",
    "Golden Gate",
    "Iron Works",
    "Oak Tree",
    "Pine Ridge",
    "River Side",
    "Stone Bridge",
    "Harbor Point",
    "Summit",
    "Evergreen",
    "Crescent",
    "Horizon",
    "Pinnacle",
    "Keystone",
    "Lighthouse",
    "Meridian",
    "Northstar",
    "Polaris",
    "Quantum",
    "Radiant",
    "Sapphire",
    "Trident",
    "Unity",
    "Vertex",
    "Willow",
    "Zenith",
    "Atlas",
    "Beacon",
    "Cascade",
    "Delta",
]
PLACES = [
    "Berlin",
    "Munich",
    "Hamburg",
    "Paris",
    "Lyon",
    "Madrid",
    "Barcelona",
    "Rome",
    "Milan",
    "Vienna",
    "Zurich",
    "Geneva",
    "Amsterdam",
    "Rotterdam",
    "Brussels",
    "Antwerp",
    "London",
    "Manchester",
    "Leeds",
    "Glasgow",
    "Dublin",
    "Cork",
    "Lisbon",
    "Porto",
    "Oslo",
    "Bergen",
    "Stockholm",
    "Gothenburg",
    "Helsinki",
    "Copenhagen",
    "Warsaw",
    "Krakow",
    "Prague",
    "Brno",
    "Budapest",
    "Athens",
    "Istanbul",
    "Cairo",
    "Lagos",
    "Nairobi",
    "Cape Town",
    "Johannesburg",
    "Dubai",
    "Mumbai",
    "Delhi",
    "Bangalore",
    "Chennai",
    "Karachi",
    "Dhaka",
    "Bangkok",
    "Hanoi",
    "Singapore",
    "Jakarta",
    "Manila",
    "Seoul",
    "Busan",
    "Tokyo",
    "Osaka",
    "Beijing",
    "Shanghai",
    "Sydney",
    "Melbourne",
    "Perth",
    "Auckland",
    "Toronto",
    "Montreal",
    "Vancouver",
    "Calgary",
    "New York",
    "Boston",
    "Chicago",
    "Denver",
    "Seattle",
    "Portland",
    "San Francisco",
    "Los Angeles",
    "San Diego",
    "Phoenix",
    "Dallas",
    "Houston",
    "Austin",
    "Atlanta",
    "Miami",
    "Orlando",
    "Mexico City",
    "Bogota",
    "Lima",
    "Santiago",
    "Buenos Aires",
    "Sao Paulo",
    "Rio",
    "Quito",
    "Havana",
    "Reykjavik",
    "Tallinn",
    "Riga",
    "Vilnius",
    "Sofia",
    "Bucharest",
    "Belgrade",
]
ASPECTS = [
    ("fee", "charge"),
    ("deadline", "cutoff date"),
    ("policy", "rules"),
    ("process", "steps"),
    ("limit", "maximum"),
    ("warranty", "guarantee"),
    ("cost", "price"),
    ("waiting time", "delay"),
    ("form", "paperwork"),
    ("requirements", "conditions"),
    ("contact", "phone number"),
    ("discount", "reduction"),
    ("schedule", "timetable"),
    ("insurance", "coverage"),
    ("opening hours", "hours"),
    ("tax", "VAT"),
]
# Two template groups: without and with an aspect; a paraphrase uses another template of its group.
TEMPLATES = [
    [
        "how do I {verb} my {object} {qual} at the {brand} store in {place}?",
        "can I {verb} {a_object} {qual} at {brand} in {place}?",
        "is it possible to {verb} my {object} {qual} at {brand} {place}",
        "I want to {verb} my {object} {qual}, {brand} in {place}",
        "{brand} {place}: {verb} {object} {qual}",
        "help me {verb} the {object} {qual} at {brand} ({place})",
        "where do I go to {verb} {a_object} {qual} at {brand} in {place}?",
        "{verb} {object} {qual} - {brand} {place} branch",
        "does {brand} in {place} let me {verb} {a_object} {qual}?",
    ],
    [
        "what is the {aspect} to {verb} {a_object} {qual} at {brand} in {place}?",
        "tell me the {aspect} to {verb} my {object} {qual} at {brand} {place}",
        "{brand} {place} {aspect}: {verb} {a_object} {qual}",
        "what {aspect} applies if I {verb} my {object} {qual} at {brand} in {place}?",
        "where can I find the {aspect} to {verb} {a_object} {qual} at {brand} {place}",
        "{aspect} when I {verb} the {object} {qual} at {brand}, {place}",
    ],
]
N_TEMPLATES = [len(t) for t in TEMPLATES]
SLOTS = ("group", "template", "verb", "noun", "modifier", "qual", "brand", "place", "aspect")
SIZES = (
    2,
    max(N_TEMPLATES),
    len(VERBS),
    len(NOUNS),
    len(MODIFIERS),
    len(QUALS),
    len(BRANDS),
    len(PLACES),
    len(ASPECTS),
)


def _article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def render(slots, paraphrase: np.random.Generator | None = None) -> str:
    """The text for one slot tuple; a paraphrase picks another template and some synonyms."""
    group, template, verb, noun, modifier, qual, brand, place, aspect = (int(s) for s in slots)
    alt = (lambda: bool(paraphrase.random() < 0.5)) if paraphrase is not None else (lambda: False)
    if paraphrase is not None:
        template = (template + 1 + int(paraphrase.integers(N_TEMPLATES[group] - 1))) % N_TEMPLATES[group]
    mod = MODIFIERS[modifier][alt()]
    obj = f"{mod} {NOUNS[noun][alt()]}".strip()
    text = TEMPLATES[group][template].format(
        verb=VERBS[verb][alt()],
        object=obj,
        a_object=_article(obj),
        qual=QUALS[qual][alt()],
        brand=BRANDS[brand],
        place=PLACES[place],
        aspect=ASPECTS[aspect][alt()],
    )
    if paraphrase is not None:
        words = text.split()
        short = [i for i, w in enumerate(words) if len(w) <= 3 and w.isalpha() and i > 0]
        if short and paraphrase.random() < 0.3:  # a dropped small word, as people type
            del words[short[int(paraphrase.integers(len(short)))]]
        text = " ".join(words)
        if paraphrase.random() < 0.3:
            text = text.rstrip("?")
        if paraphrase.random() < 0.2:
            text = text.capitalize()
    return text


def generate(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """n distinct questions and their slot tuples; the first m of n are the same for any n >= m."""
    rng = np.random.default_rng([seed, GENERATOR_VERSION])
    texts: list[str] = []
    slots: list[tuple] = []
    seen: set[str] = set()
    while len(texts) < n:
        draws = np.stack([rng.integers(0, s, DRAW_BLOCK) for s in SIZES], axis=1)
        draws[:, 1] %= np.asarray(N_TEMPLATES)[draws[:, 0]]
        for row in draws:
            text = render(row)
            if text in seen:
                continue
            seen.add(text)
            texts.append(text)
            slots.append(tuple(row))
            if len(texts) == n:
                break
    return texts, np.asarray(slots, np.int32)


def paraphrases(slots: np.ndarray, n: int, q: int, seed: int) -> tuple[list[str], np.ndarray]:
    """q paraphrases of distinct random entries among the first n, with the entries' ids."""
    rng = np.random.default_rng([seed, GENERATOR_VERSION, n, 1])
    sources = np.sort(rng.choice(n, size=min(q, n), replace=False)).astype(np.int64)
    return [render(slots[s], paraphrase=rng) for s in sources], sources


# ---------------------------------------------------------------------------------------------------
# Embedding with a chunked float16 cache.


def _digest(texts: list[str]) -> str:
    h = hashlib.sha1()
    for t in texts:
        h.update(t.encode())
        h.update(b"\0")
    return h.hexdigest()


class Embeddings:
    def __init__(self, cache: Path, seed: int, threads: int):
        self.cache, self.seed, self.threads = cache, seed, threads
        self._embedder = None
        self.seconds = 0.0
        self.embedded = 0
        self.export_seconds = 0.0

    @property
    def embedder(self):
        if self._embedder is None:
            from agent.faq.embedder import ONNX_FILE, OnnxSentenceEmbedder, TorchSentenceEmbedder
            from agent.nlu.encoder import default_base_model

            folder = self.cache / "onnx"
            if not (folder / ONNX_FILE).is_file():
                log(f"exporting the encoder to {folder}")
                started = time.perf_counter()
                problem = TorchSentenceEmbedder(default_base_model()).export(folder)
                if problem:
                    raise SystemExit(f"ONNX export failed: {problem}")
                self.export_seconds = time.perf_counter() - started
            self._embedder = OnnxSentenceEmbedder(folder, threads=self.threads)
        return self._embedder

    def _embed(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        out = self.embedder.embed(texts)
        self.seconds += time.perf_counter() - started
        self.embedded += len(texts)
        return out

    def stored(self, texts: list[str], n: int) -> np.ndarray:
        """Vectors of texts[:n]; texts reach the end of n's last chunk so any cached rows can be checked."""
        folder = self.cache / f"stored-seed{self.seed}-v{GENERATOR_VERSION}"
        folder.mkdir(parents=True, exist_ok=True)
        parts = []
        for start in range(0, n, CHUNK):
            want = texts[start : min(start + CHUNK, n)]
            path, meta_path = folder / f"rows_{start:08d}.npy", folder / f"rows_{start:08d}.json"
            have = np.zeros((0, 0), np.float16)
            if path.is_file() and meta_path.is_file():
                meta = json.loads(meta_path.read_text())
                cached = np.load(path)
                # the digest covers the texts of the cached rows, so a different generator is caught
                if (
                    meta.get("rows") == len(cached)
                    and meta.get("digest") == _digest(texts[start : start + len(cached)])
                    and len(cached) <= CHUNK
                ):
                    have = cached[: len(want)]
            if len(have) < len(want):
                todo = want[len(have) :]
                log(
                    f"embedding rows {start + len(have)}..{start + len(want)} "
                    f"({self.embedded} embedded so far in {self.seconds:.0f}s)"
                )
                fresh = self._embed(todo).astype(np.float16)
                have = fresh if not len(have) else np.concatenate([have, fresh])
                np.save(path, have)
                meta_path.write_text(json.dumps({"rows": len(have), "digest": _digest(want[: len(have)])}))
            parts.append(have)
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float16)

    def queries(self, texts: list[str], n: int) -> np.ndarray:
        path = self.cache / f"queries-seed{self.seed}-v{GENERATOR_VERSION}-n{n}-q{len(texts)}.npz"
        digest = _digest(texts)
        if path.is_file():
            data = np.load(path)
            if str(data["digest"]) == digest:
                return data["vectors"]
        vectors = self._embed(texts).astype(np.float16)
        np.savez(path, vectors=vectors, digest=np.asarray(digest))
        return vectors


# ---------------------------------------------------------------------------------------------------
# Measurements.


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def release_freed() -> None:
    """Return freed heap to the OS, so RSS growth counts what an index holds, not reused free lists."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q))


def build(index_cls, dim: int, vectors: np.ndarray, approximate: bool, threads: int):
    import faiss

    faiss.omp_set_num_threads(threads)
    release_freed()
    before = rss_mb()
    started = time.perf_counter()
    index = index_cls(dim, approximate=approximate)
    index.add(np.arange(len(vectors), dtype=np.int64), vectors)
    seconds = time.perf_counter() - started
    release_freed()
    return index, seconds, rss_mb() - before


def theoretical_mb(index, n: int, dim: int) -> dict:
    """Bytes the structures need: vectors, HNSW links (read from the graph) and the id map's ids; the
    IndexIDMap2 reverse hash map (about 40 bytes a row in libstdc++) is not counted."""
    vectors = n * dim * 4
    ids = n * 8
    links = 0
    if index.approximate:
        hnsw = index._base.hnsw
        links = hnsw.neighbors.size() * 4 + hnsw.offsets.size() * 8 + hnsw.levels.size() * 4
    return {
        "vectors_mb": round(vectors / 2**20, 1),
        "graph_mb": round(links / 2**20, 1),
        "ids_mb": round(ids / 2**20, 1),
        "total_mb": round((vectors + links + ids) / 2**20, 1),
    }


def timed_search(index, queries: np.ndarray, k: int, warmup: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-query wall and thread-CPU milliseconds and top-k ids, one query at a time; CPU time shows
    what other processes on the machine add to the wall time."""
    import faiss

    faiss.omp_set_num_threads(1)
    for i in range(min(warmup, len(queries))):
        index.search(queries[i : i + 1], k)
    ms = np.zeros(len(queries))
    cpu = np.zeros(len(queries))
    ids = np.zeros((len(queries), k), np.int64)
    for i in range(len(queries)):
        cpu_started = time.thread_time_ns()
        started = time.perf_counter_ns()
        _, found = index.search(queries[i : i + 1], k)
        ms[i] = (time.perf_counter_ns() - started) / 1e6
        cpu[i] = (time.thread_time_ns() - cpu_started) / 1e6
        ids[i] = found[0]
    return ms, cpu, ids


def latency(ms: np.ndarray, cpu: np.ndarray) -> dict:
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(float(ms.mean()), 3),
        "cpu_p50_ms": round(percentile(cpu, 50), 3),
        "cpu_p99_ms": round(percentile(cpu, 99), 3),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated numbers of stored questions")
    parser.add_argument("--queries", type=int, default=1000, help="paraphrase queries per size")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "faq_scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ef", default="32,64,96,128,256", help="efSearch values to sweep for HNSW")
    parser.add_argument(
        "--k",
        type=int,
        default=50,
        help="rows fetched per query (FaqBank.search_vectors fetches at least 50; HNSW searches with max(efSearch, k))",
    )
    parser.add_argument("--methods", default="exact,hnsw", help="exact, hnsw or both")
    parser.add_argument("--embed-threads", type=int, default=2)
    parser.add_argument(
        "--build-threads",
        type=int,
        default=os.cpu_count() or 1,
        help="FAISS threads while building (queries always use one)",
    )
    parser.add_argument("--m", type=int, default=None, help="override agent.faq.index.HNSW_M")
    parser.add_argument(
        "--ef-construction", type=int, default=None, help="override agent.faq.index.HNSW_EF_CONSTRUCTION"
    )
    args = parser.parse_args(argv)

    from agent.faq import index as index_module
    from agent.faq.index import QuestionIndex

    if args.m is not None:
        index_module.HNSW_M = args.m
    if args.ef_construction is not None:
        index_module.HNSW_EF_CONSTRUCTION = args.ef_construction
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    efs = [int(e) for e in args.ef.split(",") if e.strip()]
    methods = {m.strip() for m in args.methods.split(",")}
    import faiss

    emit(
        {
            "event": "setup",
            "sizes": sizes,
            "queries": args.queries,
            "seed": args.seed,
            "k": args.k,
            "hnsw_m": index_module.HNSW_M,
            "hnsw_ef_construction": index_module.HNSW_EF_CONSTRUCTION,
            "default_ef_search": index_module.HNSW_EF_SEARCH,
            "approximate_from": index_module.APPROXIMATE_FROM,
            "faiss": faiss.__version__,
            "cpus": os.cpu_count(),
            "build_threads": args.build_threads,
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }
    )

    started = time.perf_counter()
    texts, slots = generate(-(-max(sizes) // CHUNK) * CHUNK, args.seed)
    emit(
        {
            "event": "generate",
            "texts": len(texts),
            "seconds": round(time.perf_counter() - started, 2),
            "distinct": len(set(texts)),
            "examples": texts[:3],
        }
    )

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    emb = Embeddings(args.cache_dir, args.seed, args.embed_threads)
    stored = emb.stored(texts, max(sizes))
    if emb.embedded:
        emit(
            {
                "event": "embed",
                "what": "stored",
                "texts": emb.embedded,
                "seconds": round(emb.seconds, 1),
                "texts_per_s": round(emb.embedded / emb.seconds, 1),
                "threads": args.embed_threads,
                "export_seconds": round(emb.export_seconds, 1),
            }
        )
    else:
        emit({"event": "embed", "what": "stored", "texts": 0, "cached": True, "rows": len(stored)})
    dim = stored.shape[1]
    del texts
    summary = []

    for n in sizes:
        qtexts, sources = paraphrases(slots, n, args.queries, args.seed)
        before = (emb.embedded, emb.seconds)
        queries = emb.queries(qtexts, n).astype(np.float32)
        if emb.embedded > before[0]:
            count, secs = emb.embedded - before[0], emb.seconds - before[1]
            emit(
                {
                    "event": "embed",
                    "what": "queries",
                    "n": n,
                    "texts": count,
                    "seconds": round(secs, 2),
                    "texts_per_s": round(count / secs, 1),
                }
            )
        vectors = np.ascontiguousarray(stored[:n], dtype=np.float32)
        k = min(args.k, n)
        exact_top1 = None
        if "exact" in methods or "hnsw" in methods:  # exact results are the reference for recall
            index, seconds, grew = build(QuestionIndex, dim, vectors, False, args.build_threads)
            ms, cpu, ids = timed_search(index, queries, k)
            exact_top1 = ids[:, 0]
            record = {
                "event": "exact",
                "n": n,
                "build_s": round(seconds, 2),
                "rss_growth_mb": round(grew, 1),
                "theoretical": theoretical_mb(index, n, dim),
                **latency(ms, cpu),
                "k": k,
                "accuracy_top1": round(float((exact_top1 == sources).mean()), 4),
                "source_in_top5": round(float((ids[:, :5] == sources[:, None]).any(1).mean()), 4),
                "loadavg1": round(os.getloadavg()[0], 2),
            }
            emit(record)
            summary.append(
                f"n={n:>8} exact: build {seconds:.1f}s, +{grew:.0f} MB RSS, "
                f"p50 {record['p50_ms']:.2f} ms, p99 {record['p99_ms']:.2f} ms (CPU {record['cpu_p99_ms']:.2f}), "
                f"top-1 accuracy {record['accuracy_top1']:.3f}"
            )
            del index
            release_freed()
        if "hnsw" in methods:
            index, seconds, grew = build(QuestionIndex, dim, vectors, True, args.build_threads)
            record = {
                "event": "hnsw_build",
                "n": n,
                "m": index_module.HNSW_M,
                "ef_construction": index_module.HNSW_EF_CONSTRUCTION,
                "build_s": round(seconds, 1),
                "build_threads": args.build_threads,
                "rss_growth_mb": round(grew, 1),
                "theoretical": theoretical_mb(index, n, dim),
            }
            emit(record)
            summary.append(
                f"n={n:>8} hnsw M={record['m']} efC={record['ef_construction']}: "
                f"build {seconds:.1f}s on {args.build_threads} threads, +{grew:.0f} MB RSS "
                f"(theory {record['theoretical']['total_mb']:.0f} MB)"
            )
            for ef in efs:
                index._base.hnsw.efSearch = ef
                ms, cpu, ids = timed_search(index, queries, k)
                record = {
                    "event": "hnsw",
                    "n": n,
                    "m": index_module.HNSW_M,
                    "ef_search": ef,
                    "effective_ef": max(ef, k),
                    "k": k,
                    **latency(ms, cpu),
                    "recall_at_1": round(float((ids[:, 0] == exact_top1).mean()), 4),
                    "exact_top1_in_topk": round(float((ids == exact_top1[:, None]).any(1).mean()), 4),
                    "accuracy_top1": round(float((ids[:, 0] == sources).mean()), 4),
                    "loadavg1": round(os.getloadavg()[0], 2),
                }
                emit(record)
                summary.append(
                    f"           ef={ef:>4} (effective {max(ef, k)}): p50 {record['p50_ms']:.2f} ms, "
                    f"p99 {record['p99_ms']:.2f} ms (CPU {record['cpu_p99_ms']:.2f}), recall@1 {record['recall_at_1']:.3f}, "
                    f"exact top-1 in top-{k} {record['exact_top1_in_topk']:.3f}, "
                    f"accuracy {record['accuracy_top1']:.3f}"
                )
            del index
            release_freed()
        del vectors

    print("# summary", flush=True)
    if emb.embedded:
        print(
            f"# embedded {emb.embedded} texts in {emb.seconds:.0f}s ({emb.embedded / emb.seconds:.0f} texts/s, "
            f"{args.embed_threads} threads)",
            flush=True,
        )
    for line in summary:
        print("# " + line, flush=True)


if __name__ == "__main__":
    main()
