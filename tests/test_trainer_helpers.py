import random

import torch

from agent.nlu.training.data import _length_bucketed_batches, stratified_split, typo


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_typo_changes_one_longer_word_slightly_and_is_seeded():
    rng = random.Random(3)
    text = "i want to pay off my emblem card"
    for _ in range(50):
        noisy = typo(text, rng)
        changed = [(a, b) for a, b in zip(text.split(), noisy.split()) if a != b]
        assert len(noisy.split()) == len(text.split())
        assert len(changed) <= 1
        if changed:
            a, b = changed[0]
            assert len(a) >= 4 and 1 <= _edit_distance(a, b) <= 2
    assert typo("hi ok", random.Random(0)) == "hi ok"  # nothing long enough to misspell
    assert typo(text, random.Random(7)) == typo(text, random.Random(7))


def test_length_buckets_cover_every_example_once_with_little_padding():
    ids = [[0] * n for n in [3, 30, 4, 29, 5, 28, 6, 27] * 8]
    batches = _length_bucketed_batches(ids, 4, torch.Generator().manual_seed(0))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(ids)))
    padding = sum(max(len(ids[i]) for i in b) * len(b) - sum(len(ids[i]) for i in b) for b in batches)
    assert padding < 0.25 * sum(len(x) for x in ids)


def test_stratified_split_keeps_small_intents_whole():
    labels = ["a"] * 20 + ["b"] * 3
    train, val = stratified_split(["t"] * 23, labels, 0.1, 0, min_total=10)
    assert sorted(train + val) == list(range(23))
    assert [labels[i] for i in val] == ["a", "a"]


def test_frozen_bottom_cache_reproduces_the_full_encoder(tmp_path):
    import torch

    from agent.bot.config import IntentTrainingConfig
    from agent.nlu import layer_cache
    from agent.nlu.encoder import load_encoder, load_tokenizer
    from agent.nlu.intent_model import IntentClassifier, IntentModel
    from agent.nlu.training.data import _tokenize
    from agent.nlu.training.frozen_cache import FrozenBottomCache
    from tests.helpers.tiny_model import make_tiny_bert

    texts = ["where is my parcel", "hello there", "cancel my order please"]
    bert = make_tiny_bert(tmp_path / "bert", texts)
    encoder, tokenizer = load_encoder(bert), load_tokenizer(bert)
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    assert layer_cache.split_matches_full(encoder, batch["input_ids"], batch["attention_mask"], 1)
    model = IntentModel(encoder, 2)
    classifier = IntentClassifier(model, tokenizer, ["a", "b"])
    ids = _tokenize(classifier, texts)
    cfg = IntentTrainingConfig(frozen_layers=1, typo_rate=0.0)
    assert FrozenBottomCache.build(model, classifier, ids, texts, cfg) is None  # small data: no cache
    cache = FrozenBottomCache.build(model, classifier, ids, texts, cfg, min_examples=0)
    assert cache is not None and len(cache.clean) == 3 and cache.noisy == []
    noisy = FrozenBottomCache.build(
        model, classifier, ids, texts, IntentTrainingConfig(frozen_layers=1, typo_rate=0.5), min_examples=0
    )
    assert len(noisy.noisy) == 3 and all(len(copy) == 3 for copy in noisy.noisy)
    model.eval()
    hidden, mask, _ = cache.batch([0, 2], None, random.Random(0))
    with torch.no_grad():
        via_cache = cache.top(model, hidden, mask)
        full = encoder(**tokenizer([texts[0], texts[2]], padding=True, return_tensors="pt")).last_hidden_state
    assert torch.allclose(via_cache[mask.bool()], full[mask.bool()], atol=1e-4)
    assert (
        FrozenBottomCache.build(model, classifier, ids, texts, IntentTrainingConfig(frozen_layers=0), min_examples=0)
        is None
    )


def test_length_sorted_batches_come_back_in_input_order():
    from agent.nlu.training.data import _batches, _in_order

    ids = [[1] * n for n in (5, 2, 9, 1, 4, 7, 3)]
    chunks, order = [], []
    for idx, batch in _batches(ids, size=3):
        assert batch["input_ids"].shape[1] == max(len(ids[i]) for i in idx)
        chunks.append(batch["attention_mask"].sum(1))
        order.append(idx)
    assert _in_order(chunks, order).tolist() == [5, 2, 9, 1, 4, 7, 3]
