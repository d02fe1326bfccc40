"""Sentence embeddings for FAQ retrieval: the bot's base encoder (not the intent-tuned one), mean
pooled and L2-normalised. Torch computes them at training; the served model carries the same
encoder as an ONNX graph so serving needs neither transformers nor a retrain to embed an edit."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

ONNX_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
SETTINGS_FILE = "embedder.json"
MAX_TOKENS = 128
BATCH = 64
TOLERANCE = 2e-3  # largest cosine gap to torch accepted for an export


class SentenceEmbedder(Protocol):
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 rows of unit length, one per text."""


def _batches(texts: list[str], size: int):
    """Length-sorted batches (little padding), yielded with their original positions."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        yield idx, [texts[i] for i in idx]


def _normalise(v: np.ndarray) -> np.ndarray:
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)


class TorchSentenceEmbedder:
    def __init__(self, base_model: Path, languages: list[str] | None = None):
        import torch

        from agent.nlu.encoder import load_encoder, load_tokenizer

        self.torch = torch
        self.path = base_model
        from agent.nlu.multilingual import text_prefix
        from agent.nlu.vocab_prune import prune_for_languages

        # a multilingual vocabulary cut to the bot's scripts: the same vectors, a smaller served encoder
        self.tokenizer, self.model = prune_for_languages(
            load_tokenizer(base_model), load_encoder(base_model), languages
        )
        self.model.eval()
        self.dim = int(self.model.config.hidden_size)
        self.prefix = text_prefix(base_model)

    def module(self):
        torch = self.torch
        model = self.model

        class Pooled(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, dim=-1)

        return Pooled().eval()

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        pooled = self.module()
        for idx, chunk in _batches([self.prefix + t for t in texts], BATCH):
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            with self.torch.no_grad():
                out[idx] = pooled(batch["input_ids"], batch["attention_mask"]).numpy()
        return out

    def export(self, folder: Path) -> str | None:
        """Write the ONNX graph and tokenizer for serving; None when it matches torch, else why not."""
        from agent.nlu.onnx_runtime import OPSET, _store_half

        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ONNX_FILE
        try:
            import onnx

            self.tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_FILE))
            (folder / SETTINGS_FILE).write_text(json.dumps({"prefix": self.prefix}))
            probe = ["hello", "how long do I have to return a jacket I bought last week?"]
            batch = self.tokenizer(probe, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            with self.torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.torch.onnx.export(
                    self.module(),
                    (batch["input_ids"], batch["attention_mask"]),
                    str(path),
                    dynamo=False,
                    opset_version=OPSET,
                    input_names=["input_ids", "attention_mask"],
                    output_names=["embedding"],
                    dynamic_axes={
                        "input_ids": {0: "batch", 1: "tokens"},
                        "attention_mask": {0: "batch", 1: "tokens"},
                        "embedding": {0: "batch"},
                    },
                )
            graph = onnx.load(str(path))
            _store_half(graph)
            onnx.save(graph, str(path))
            texts = probe + ["where can I find your store opening hours", "ok"]
            gap = float(1 - (OnnxSentenceEmbedder(folder, threads=1).embed(texts) * self.embed(texts)).sum(1).min())
            if gap > TOLERANCE:
                raise ValueError(f"its embeddings differ from torch's (cosine gap {gap:.2g})")
            return None
        except Exception as exc:  # serving then embeds with torch from the base model
            log.warning("FAQ encoder ONNX export skipped: %s", exc)
            path.unlink(missing_ok=True)
            return f"{type(exc).__name__}: {exc}"


class OnnxSentenceEmbedder:
    def __init__(self, folder: Path, threads: int | None = 1):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        settings = folder / SETTINGS_FILE
        self.prefix = json.loads(settings.read_text()).get("prefix", "") if settings.is_file() else ""
        pad = self.tokenizer.padding or {}
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"))

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for idx, chunk in _batches([self.prefix + t for t in texts], BATCH):
            enc = self.tokenizer.encode_batch(chunk)
            feed = {
                "input_ids": np.array([e.ids for e in enc], np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], np.int64),
            }
            out[idx] = self.session.run(None, feed)[0]
        return _normalise(out)


def load_embedder(folder: Path, base_model: Path | None, threads: int | None = 1) -> SentenceEmbedder:
    """The exported graph when the model has one; torch from the base model otherwise."""
    if (folder / ONNX_FILE).is_file():
        return OnnxSentenceEmbedder(folder, threads)
    from agent.nlu.encoder import resolve_base_model

    return TorchSentenceEmbedder(resolve_base_model(base_model))
