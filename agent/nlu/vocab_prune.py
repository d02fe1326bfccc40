"""Drop the word pieces of scripts a bot never sees from a SentencePiece (Unigram) encoder.

multilingual-e5-small carries XLM-R's 250k-piece vocabulary: its word embeddings are 96M of the
model's ~118M parameters, so each copy of the encoder in a trained bot (fine-tuned weights, ONNX
exports) is ~235 MB, nearly all of it rows for Cyrillic, Arabic, Devanagari... pieces that a
Chinese/English bot never looks up. `prune` keeps only the pieces written in the bot's scripts.

Why nothing changes for text in those scripts: a Unigram tokenizer picks the best-scoring
segmentation among the vocabulary pieces that occur in the (normalised) text, and a piece that
occurs in text made of allowed characters is itself made of allowed characters, so it is kept with
its score: the candidates, the scores and therefore the tokens are the same, and each kept piece
keeps its embedding row, so the encoder's outputs are too. The search's one other input, the
penalty for a character no piece covers (lowest piece score - 10), stays put because the
lowest-scored piece is always kept. Characters outside the scripts, which used to have pieces,
come out as <unk>: a Russian sentence becomes "▁ <unk> ▁ <unk>".

The guarantee is about the text as the tokenizer's normaliser (NFKC) leaves it. The ranges below
are whole Unicode blocks, and a few compatibility characters in them normalise into another script
(the ohm sign Ω and ㎍ into Greek, ℵ into Hebrew): those become <unk> too. `normalised_outside` lists them.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from agent.bot.language_codes import base
from agent.errors import Errors

logger = logging.getLogger(__name__)

METASPACE = "\u2581"

Ranges = tuple[tuple[int, int], ...]

# Inclusive code point ranges. Full-width ASCII variants are "common": NFKC turns them into ASCII.
SCRIPT_RANGES: dict[str, Ranges] = {
    "latin": (
        (0x0041, 0x005A),
        (0x0061, 0x007A),  # ASCII letters
        (0x00AA, 0x00AA),
        (0x00BA, 0x00BA),  # ª º
        (0x00C0, 0x00D6),
        (0x00D8, 0x00F6),
        (0x00F8, 0x024F),  # Latin-1 letters, Extended-A and -B
        (0x0250, 0x02B8),  # IPA extensions, modifier letters ʰ..ʸ
        (0x1D00, 0x1DBF),  # phonetic extensions: small capitals ᴀ ᴄ ᴅ of stylised text
        (0x1E00, 0x1EFF),  # Latin Extended Additional (Vietnamese)
        (0x2C60, 0x2C7F),
        (0xA720, 0xA7FF),
        (0xAB30, 0xAB6F),  # Latin Extended-C, -D, -E
        (0xFB00, 0xFB06),  # ligatures ﬀ..ﬆ
    ),
    "common": (
        (0x0000, 0x0040),
        (0x005B, 0x0060),
        (0x007B, 0x00A9),  # controls, space, digits, ASCII punctuation
        # Latin-1 punctuation and symbols; µ is left out, NFKC makes it Greek μ
        (0x00AB, 0x00B4),
        (0x00B6, 0x00B9),
        (0x00BB, 0x00BF),
        (0x00D7, 0x00D7),
        (0x00F7, 0x00F7),
        (0x02B9, 0x02FF),  # modifier symbols ˆ ˇ ˊ ˋ (bopomofo tone marks too)
        (0x0300, 0x036F),
        (0x1AB0, 0x1AFF),
        (0x1DC0, 0x1DFF),  # combining diacritics (script "Inherited")
        (0x2000, 0x206F),  # general punctuation: dashes, quotes, …, ‰, zero-width characters
        (0x2070, 0x209F),  # superscripts and subscripts
        (0x20A0, 0x20FF),  # currency signs, combining marks for symbols (keycap ⃣)
        (0x2100, 0x27BF),  # letterlike (℃ №), number forms, arrows, math, technical, enclosed ①, shapes, dingbats
        (0x27C0, 0x27FF),
        (0x2900, 0x2BFF),  # math, supplemental arrows, misc symbols and arrows
        (0x2E00, 0x2E7F),  # supplemental punctuation
        (0xE000, 0xF8FF),  # private use: Symbol-font bullets pasted from Word, icon fonts
        (0xFE00, 0xFE0F),  # variation selectors (emoji presentation)
        (0xFE50, 0xFE6F),  # small form variants
        (0xFF01, 0xFF60),
        (0xFFE0, 0xFFEE),  # full-width ASCII, full-width ¢ £ ¥ and half-width symbols
        (0xFFF9, 0xFFFD),  # specials
        (0x1F000, 0x1F1FF),  # mahjong, dominoes, cards, enclosed alphanumerics, regional indicators (flags)
        (0x1F300, 0x1FBFF),  # emoji and pictographs, transport, alchemical, chess, legacy computing
        (0xE0000, 0xE007F),  # tags (subdivision flags)
        (0xF0000, 0x10FFFF),  # supplementary private use
    ),
    "cjk": (
        (0x2E80, 0x2FDF),  # radicals supplement, Kangxi radicals
        (0x2FF0, 0x303F),  # ideographic description, CJK symbols and punctuation 、。「」〇
        (0x3100, 0x312F),
        (0x31A0, 0x31EF),  # bopomofo (Taiwan), bopomofo extended, CJK strokes
        (0x3220, 0x325F),
        (0x3280, 0x32CF),
        (0x32FF, 0x32FF),  # ㈠ ㊀ ㊣, ideographic months, ㋿
        (0x30FB, 0x30FB),  # ・ middle dot, in Chinese transliterated names too
        (0x3358, 0x33FF),  # CJK compatibility: ㍘ ㍻ ㎏ ㏠ (squared katakana words are "kana")
        (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF),  # ideographs, Extension A, compatibility
        (0xFE10, 0xFE1F),
        (0xFE30, 0xFE4F),  # vertical and compatibility forms of CJK punctuation
        (0xFF61, 0xFF64),  # half-width 。「」、
        (0x1F210, 0x1F212),
        (0x1F214, 0x1F2FF),  # enclosed ideographs 🈚 🈶 (the rest say kana)
        (0x20000, 0x2FA1F),
        (0x30000, 0x323AF),  # Extensions B-H, compatibility supplement
    ),
    # Japanese kana: not needed for Chinese, whose text has no kana, so "zh" leaves it out.
    "kana": (
        (0x3040, 0x30FF),
        (0x31F0, 0x31FF),  # hiragana, katakana, phonetic extensions
        (0x32D0, 0x32FE),
        (0x3300, 0x3357),  # circled katakana, squared katakana words
        (0xFF65, 0xFF9F),  # half-width katakana
        (0x1AFF0, 0x1B16F),  # kana supplement and extensions
        (0x1F200, 0x1F202),
        (0x1F213, 0x1F213),  # enclosed 🈀 🈁 🈂 🈓
    ),
    "hangul": (
        (0x1100, 0x11FF),
        (0x3130, 0x318F),
        (0xA960, 0xA97F),
        (0xAC00, 0xD7FF),  # jamo, syllables
        (0x3200, 0x321F),
        (0x3260, 0x327F),  # parenthesised and circled hangul
        (0xFFA0, 0xFFDC),  # half-width jamo
    ),
}

_LATIN_LANGUAGES = [
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "sv",
    "da",
    "no",
    "nb",
    "nn",
    "fi",
    "is",
    "pl",
    "cs",
    "sk",
    "sl",
    "hr",
    "bs",
    "hu",
    "ro",
    "tr",
    "lt",
    "lv",
    "et",
    "ga",
    "cy",
    "ca",
    "eu",
    "gl",
    "id",
    "ms",
    "vi",
    "tl",
    "fil",
    "sw",
    "af",
    "sq",
    "mt",
    "eo",
    "la",
]
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{lang: frozenset({"latin", "common"}) for lang in _LATIN_LANGUAGES},
    # Chinese messages mix in English product names and order numbers, so Latin stays.
    "zh": frozenset({"cjk", "latin", "common"}),
    "ja": frozenset({"cjk", "kana", "latin", "common"}),
    "ko": frozenset({"hangul", "cjk", "latin", "common"}),
}


def scripts_for_languages(languages: Iterable[str]) -> set[str] | None:
    """The scripts a bot in `languages` reads (zh-CN -> zh), or None, meaning "do not prune", when
    there are none or one is not known here: pruning a language's script away would turn it into <unk>."""
    scripts: set[str] = set()
    for language in languages:
        known = LANGUAGE_SCRIPTS.get(base(language))
        if known is None:
            return None
        scripts |= known
    return scripts or None


def _ranges(scripts: Iterable[str]) -> Ranges:
    unknown = sorted(set(scripts) - set(SCRIPT_RANGES))
    if unknown:
        raise RuntimeError(f"unknown script(s) {', '.join(unknown)}; known: {', '.join(sorted(SCRIPT_RANGES))}")
    return tuple(r for s in sorted(set(scripts)) for r in SCRIPT_RANGES[s])


def outside_pattern(scripts: Iterable[str]) -> re.Pattern[str]:
    """Matches any character outside `scripts` (the metaspace counts as inside: it marks a word start)."""
    ranges = _ranges(scripts) + ((ord(METASPACE), ord(METASPACE)),)
    return re.compile("[^" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges) + "]")


def kept_pieces(vocab: list[tuple[str, float]], scripts: set[str], always: Iterable[int] = ()) -> list[int]:
    """Indexes, ascending, of the pieces to keep: those whose characters are all in `scripts`, the
    special tokens (SentencePiece gives control symbols score 0, real pieces a log-probability
    below it), the lowest-scored piece (it sets the <unk> penalty) and any index in `always`."""
    outside = outside_pattern(scripts)
    keep = {i for i, (piece, score) in enumerate(vocab) if score == 0.0 or not outside.search(piece)}
    if vocab:
        keep.add(min(range(len(vocab)), key=lambda i: vocab[i][1]))
    keep.update(i for i in always if 0 <= i < len(vocab))
    return sorted(keep)


def normalised_outside(tokenizer: Any, scripts: set[str]) -> dict[str, str]:
    """Characters in `scripts` that the tokenizer's normaliser turns into characters outside them
    (㎍ -> μg): the exceptions to the "same tokens" guarantee for raw text."""
    normalizer = tokenizer.backend_tokenizer.normalizer
    if normalizer is None:
        return {}
    outside = outside_pattern(scripts)
    chars = (chr(cp) for lo, hi in _ranges(scripts) for cp in range(lo, hi + 1) if not 0xD800 <= cp < 0xE000)
    normalised = ((c, normalizer.normalize_str(c)) for c in chars)
    return {c: n for c, n in normalised if outside.search(n)}


def _remap_post_processor(state: dict | None, new_id: dict[int, int]) -> None:
    """Special token ids are written into the post-processor, so they must follow the new numbering."""
    if not state:
        return
    kind = state.get("type")
    if kind == "TemplateProcessing":
        for special in state.get("special_tokens", {}).values():
            special["ids"] = [new_id[i] for i in special["ids"]]
    elif kind in ("RobertaProcessing", "BertProcessing"):
        for key in ("sep", "cls"):
            token, old = state[key]
            state[key] = [token, new_id[old]]
    elif kind == "Sequence":
        for step in state.get("processors", []):
            _remap_post_processor(step, new_id)


def _pruned_backend(state: dict, rows: list[int]) -> Any:
    """The tokenizer.json state with only `rows` in the Unigram vocabulary and every id renumbered;
    normaliser, pre-tokenizer, decoder and truncation are carried over untouched."""
    from tokenizers import Tokenizer

    new_id = {old: new for new, old in enumerate(rows)}
    vocab = state["model"]["vocab"]
    # the vocabulary is the only large part and it is rebuilt, not edited: copy everything else
    model = {key: value for key, value in state["model"].items() if key != "vocab"}
    state = copy.deepcopy({key: value for key, value in state.items() if key != "model"})
    state["model"] = model
    model["vocab"] = [vocab[i] for i in rows if i < len(vocab)]
    if model.get("unk_id") is not None:
        model["unk_id"] = new_id[model["unk_id"]]
    for token in state.get("added_tokens") or []:
        token["id"] = new_id[token["id"]]
    _remap_post_processor(state.get("post_processor"), new_id)
    padding = state.get("padding")
    if padding and padding.get("pad_id") is not None:
        padding["pad_id"] = new_id[padding["pad_id"]]
    return Tokenizer.from_str(json.dumps(state, ensure_ascii=False))


def _wrap(backend: Any, original: Any) -> Any:
    """A PreTrainedTokenizerFast with the original's special tokens and length/side settings."""
    from transformers import PreTrainedTokenizerFast

    specials = dict(original.special_tokens_map)
    extra = getattr(original, "extra_special_tokens", None)  # a list in transformers 5, a dict in 4
    if extra:
        specials["extra_special_tokens"] = extra
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=original.model_max_length,
        padding_side=original.padding_side,
        truncation_side=original.truncation_side,
        clean_up_tokenization_spaces=original.clean_up_tokenization_spaces,
        **specials,
    )


def _slice_embeddings(model: Any, rows: list[int]) -> None:
    """Keep only `rows` of the input embedding matrix, in place, and make the config agree."""
    import torch

    if model.get_output_embeddings() is not None:
        raise Errors.PRUNE_NOT_AN_ENCODER.error()
    old = model.get_input_embeddings()
    if rows[-1] >= old.num_embeddings:
        raise Errors.PRUNE_TOKENIZER_MODEL_MISMATCH.error(id=rows[-1], rows=old.num_embeddings)
    new_id = {o: n for n, o in enumerate(rows)}
    padding_idx = new_id.get(old.padding_idx) if old.padding_idx is not None else None
    index = torch.tensor(rows, dtype=torch.long, device=old.weight.device)
    weight = old.weight.detach().index_select(0, index)
    new = torch.nn.Embedding.from_pretrained(weight, freeze=not old.weight.requires_grad, padding_idx=padding_idx)
    model.set_input_embeddings(new)
    config = model.config
    original_size = config.vocab_size
    config.vocab_size = len(rows)
    for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
        value = getattr(config, key, None)
        if value is not None:
            setattr(config, key, new_id.get(value))
    config.vocab_pruned = {"original_vocab_size": original_size, "kept": len(rows)}


def prune(tokenizer: Any, model: Any, scripts: set[str]) -> tuple[Any, Any]:
    """Keep only the pieces of `scripts`: returns a new tokenizer, and `model` with its word
    embeddings sliced in place (config.vocab_size, pad/bos/eos ids and `vocab_pruned` updated)."""
    if not scripts:
        raise RuntimeError('no scripts to keep (scripts_for_languages gives None for "do not prune")')
    started = time.perf_counter()
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    if state["model"].get("type") != "Unigram":
        kind = state["model"].get("type")
        raise RuntimeError(f"vocabulary pruning needs a Unigram (SentencePiece) tokenizer, not {kind}")
    vocab = [(piece, score) for piece, score in state["model"]["vocab"]]
    added = [t["id"] for t in state.get("added_tokens") or []]
    unk = state["model"].get("unk_id")
    rows = kept_pieces(vocab, scripts, always=added + ([unk] if unk is not None else []))
    rows += sorted(i for i in set(added) if i >= len(vocab))  # added tokens outside the model vocabulary
    new_tokenizer = _wrap(_pruned_backend(state, rows), tokenizer)
    _slice_embeddings(model, rows)
    model.config.vocab_pruned["scripts"] = sorted(scripts)
    logger.info(
        "vocabulary pruned to %s: kept %d of %d pieces in %.1f s",
        "+".join(sorted(scripts)),
        len(rows),
        len(vocab),
        time.perf_counter() - started,
    )
    return new_tokenizer, model


PRUNE_ABOVE = 100_000  # pieces: only the big multilingual vocabularies are worth it


def prune_for_languages(tokenizer: Any, model: Any, languages: Iterable[str] | None) -> tuple[Any, Any]:
    """The tokenizer and model a bot in `languages` needs: a multilingual SentencePiece vocabulary
    (XLM-R's 250k pieces are most of multilingual-e5-small's weights) cut to the bot's scripts;
    anything else is returned as it is."""
    scripts = scripts_for_languages(list(languages or []))
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if scripts is None or backend is None or backend.get_vocab_size() <= PRUNE_ABOVE:
        return tokenizer, model
    if json.loads(backend.model.__getstate__()).get("type") != "Unigram":
        return tokenizer, model
    return prune(tokenizer, model, scripts)
