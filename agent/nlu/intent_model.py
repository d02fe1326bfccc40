"""A transformer encoder with mean pooling, a linear intent head and an optional token-tagging
entity head sharing the same encoder; saving and loading it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from agent.nlu.calibration import sharpen

FORMAT = "agent.intent-model/2"
ENTITY_EXTRACTOR = "BertEntityExtractor"


class IntentModel(nn.Module):
    def __init__(self, encoder: nn.Module, num_labels: int, num_tags: int = 0, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
        self.entity_head = nn.Linear(encoder.config.hidden_size, num_tags) if num_tags else None

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    @staticmethod
    def pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.pool(self.hidden(input_ids, attention_mask), attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))

    def joint(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """Intent logits, token tag logits (None without an entity head) and sentence embeddings."""
        return self.heads(self.hidden(input_ids, attention_mask), attention_mask)

    def heads(self, hidden: torch.Tensor, attention_mask: torch.Tensor):
        pooled = self.pool(hidden, attention_mask)
        tags = self.entity_head(self.dropout(hidden)) if self.entity_head is not None else None
        return self.head(self.dropout(pooled)), tags, pooled


@dataclass
class Analysis:
    """Everything one forward pass says about one message."""

    probabilities: torch.Tensor  # calibrated, over `labels`
    embedding: torch.Tensor  # L2-normalised sentence embedding (for out-of-scope distance)
    entities: list[dict] = field(default_factory=list)
    similarity: float | None = None  # to the nearest training sentences (None without an index)


@dataclass
class IntentClassifier:
    """Inference wrapper: texts in, calibrated intent probabilities and entity spans out."""

    model: IntentModel
    tokenizer: object
    labels: list[str]
    max_length: int = 64
    tags: list[str] = field(default_factory=list)  # BIO tag names of the entity head
    temperature: float = 1.0  # fitted on validation data: softmax(logits / T) is calibrated
    thresholds: object | None = None  # Thresholds swept on validation data, or None without any
    neighbours: object | None = None  # NeighbourIndex over the training sentences
    knn_mix: object | None = None  # KnnMix chosen on validation data, or None when the vote did not help
    sparse: object | None = None  # sparse.SparseModel mixed in, chosen on validation data (or None)
    # fitted on validation after the mixing above: the probabilities served are the calibrated ones
    mix_temperature: float = 1.0
    # out_of_scope was learnt from shipped negatives only (the bot has no such intent): predicting it
    # means falling back
    added_out_of_scope: bool = False

    def encode(self, texts: list[str], offsets: bool = False) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
            return_offsets_mapping=offsets,
        )
        out = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        if offsets:
            out["offset_mapping"] = batch["offset_mapping"]
        return out

    @torch.inference_mode()
    def analyse(self, texts: list[str], batch_size: int = 64) -> list[Analysis]:
        from agent.nlu.entity_tags import decode

        self.model.eval()
        results = []
        for i in range(0, len(texts), batch_size):
            chunk = texts[i : i + batch_size]
            batch = self.encode(chunk, offsets=bool(self.tags))
            offsets = batch.pop("offset_mapping", None)
            logits, tag_logits, pooled = self.model.joint(**batch)
            emb = nn.functional.normalize(pooled, dim=-1)
            probs, sims = self.served(logits, emb, chunk)
            tag_probs = torch.softmax(tag_logits, dim=-1) if tag_logits is not None else None
            for k, text in enumerate(chunk):
                entities = []
                if tag_probs is not None:
                    spans = [tuple(o) for o in offsets[k].tolist()]
                    entities = decode(text, spans, tag_probs[k].numpy(), self.tags, ENTITY_EXTRACTOR)
                results.append(Analysis(probs[k], emb[k], entities, sims[k] if sims is not None else None))
        return results

    def served(
        self, logits: torch.Tensor, embeddings: torch.Tensor, texts: list[str]
    ) -> tuple[torch.Tensor, list[float] | None]:
        """The probabilities a parse reports: calibrated classifier, neighbours' vote, character
        n-grams, then the temperature fitted on that mix; and the neighbour similarity."""
        probs, sims = self.probabilities_and_similarity(logits, embeddings)
        if self.sparse is not None:
            probs = torch.from_numpy(self.sparse.mix(probs.numpy(), texts))
        return sharpen(probs, self.mix_temperature), sims

    def probabilities_and_similarity(
        self, logits: torch.Tensor, embeddings: torch.Tensor
    ) -> tuple[torch.Tensor, list[float] | None]:
        """Calibrated probabilities (with the neighbours' vote mixed in when chosen) and the mean
        similarity to the nearest training sentences; one FAISS search serves both."""
        mix = self.knn_mix
        probs = torch.softmax(logits / self.temperature, dim=-1)
        if self.neighbours is None:
            return probs, None
        k = max(self.neighbours.k, mix.k if mix is not None else 0)
        scores, ids = self.neighbours.search(embeddings.numpy(), k)
        sims = scores[:, : self.neighbours.k].mean(axis=1).tolist()
        if mix is not None and self.neighbours.labels is not None:
            vote = torch.from_numpy(self.neighbours.vote(scores, ids, len(self.labels), mix.k, mix.tau))
            probs = (1 - mix.weight) * probs + mix.weight * vote
        return probs, sims

    @torch.inference_mode()
    def sentence_embeddings(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """L2-normalised embeddings, computed in length order (little padding), returned in input order."""
        self.model.eval()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: torch.Tensor | None = None
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            emb = self.model.embed(**self.encode([texts[i] for i in chunk]))
            out = torch.zeros(len(texts), emb.shape[-1]) if out is None else out
            out[chunk] = nn.functional.normalize(emb, dim=-1)
        return out if out is not None else torch.zeros(0, 0)

    def save(self, folder: Path, onnx: bool = True) -> str | None:
        """Weights (fp16 safetensors) for torch, plus an ONNX graph that serving prefers; returns why
        the ONNX export failed, if it did."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        self.model.encoder.config.save_pretrained(str(folder / "encoder"))
        self.tokenizer.save_pretrained(str(folder / "tokenizer"))
        # fp16 halves the artifact; weights are upcast to fp32 when loaded.
        state = {
            k: v.detach().to(torch.float16).contiguous() if v.is_floating_point() else v.contiguous()
            for k, v in self.model.state_dict().items()
        }
        save_file(state, str(folder / "model.safetensors"))
        if self.neighbours is not None:
            self.neighbours.save(folder)
        if self.sparse is not None:
            self.sparse.save(folder)
        (folder / "intent_model.json").write_text(
            json.dumps(
                {
                    "format": FORMAT,
                    "labels": self.labels,
                    "max_length": self.max_length,
                    "tags": self.tags,
                    "temperature": self.temperature,
                    "mix_temperature": self.mix_temperature,
                    "knn_mix": self.knn_mix.to_dict() if self.knn_mix is not None else None,
                    "thresholds": self.thresholds.to_dict() if self.thresholds is not None else None,
                    "added_out_of_scope": self.added_out_of_scope,
                },
                indent=2,
            )
        )
        if onnx:
            from agent.nlu.onnx_runtime import export

            return export(
                self, folder, ["hello", "where is my order", "I would like to speak to a person about my bill"]
            )
        return None

    @classmethod
    def load(cls, folder: Path, runtime: str | None = None) -> IntentClassifier:
        """runtime "onnx" (the default when the model has one and onnxruntime is installed) or "torch";
        AGENT_NLU_RUNTIME=torch forces torch."""
        import os

        runtime = runtime or os.environ.get("AGENT_NLU_RUNTIME", "auto")
        meta = json.loads((folder / "intent_model.json").read_text())
        tokenizer_file = folder / "tokenizer" / "tokenizer.json"
        if runtime != "torch" and (folder / "model.onnx").is_file() and tokenizer_file.is_file():
            try:
                from agent.nlu.onnx_runtime import FastTokenizer, OnnxEncoder

                model = OnnxEncoder(folder / "model.onnx")
                tokenizer = FastTokenizer(tokenizer_file, meta["max_length"])
            except ImportError:
                pass
            else:
                return cls._with_meta(model, tokenizer, meta, folder)
        model, tokenizer = cls._torch_parts(folder, meta)
        return cls._with_meta(model, tokenizer, meta, folder)

    @classmethod
    def _with_meta(cls, model, tokenizer, meta: dict, folder: Path) -> IntentClassifier:
        from agent.nlu.neighbours import KnnMix, NeighbourIndex
        from agent.nlu.sparse import SparseModel
        from agent.nlu.thresholds import Thresholds

        thresholds = Thresholds.from_dict(meta["thresholds"]) if meta.get("thresholds") else None
        return cls(
            model,
            tokenizer,
            meta["labels"],
            meta["max_length"],
            meta.get("tags", []),
            meta.get("temperature", 1.0),
            thresholds,
            NeighbourIndex.load(folder),
            KnnMix.from_dict(meta.get("knn_mix")),
            SparseModel.load(folder),
            mix_temperature=meta.get("mix_temperature", 1.0),
            added_out_of_scope=meta.get("added_out_of_scope", False),
        )

    @staticmethod
    def _torch_parts(folder: Path, meta: dict):
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        from agent.nlu.encoder import quiet_transformers

        quiet_transformers()
        config = AutoConfig.from_pretrained(str(folder / "encoder"), local_files_only=True)
        model = IntentModel(AutoModel.from_config(config), len(meta["labels"]), len(meta.get("tags", [])))
        state = {
            k: v.float() if v.is_floating_point() else v
            for k, v in load_file(str(folder / "model.safetensors")).items()
        }
        model.load_state_dict(state)
        model.eval()
        return model, AutoTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)


def ranking(labels: list[str], probs: torch.Tensor) -> list[tuple[str, float]]:
    order = torch.argsort(probs, descending=True)
    return [(labels[i], float(probs[i])) for i in order.tolist()]
