"""A tiny randomly initialised BERT in Hugging Face format, so training tests take seconds."""

from __future__ import annotations

import re
from pathlib import Path


def make_tiny_bert(folder: Path, words: list[str]) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # BERT's tokenizer splits Chinese characters apart, so each is a vocabulary entry of its own
    found = {w.lower() for text in words for w in re.findall(r"[\u4e00-\u9fff]|\w+|[^\w\s]", text)}
    for w in sorted(found):
        vocab.append(w)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)  # offsets for entity tags
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder
