"""A transformer encoder with mean pooling and a linear intent head; saving and loading it."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

FORMAT = "agent.intent-model/1"


class IntentModel(nn.Module):
    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(input_ids, attention_mask)))


@dataclass
class IntentClassifier:
    """Inference wrapper: texts in, ranked (intent, probability) lists out."""

    model: IntentModel
    tokenizer: object
    labels: list[str]
    max_length: int = 64

    def encode(self, texts: list[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    @torch.inference_mode()
    def probabilities(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        self.model.eval()
        out = []
        for i in range(0, len(texts), batch_size):
            out.append(torch.softmax(self.model(**self.encode(texts[i:i + batch_size])), dim=-1))
        if not out:
            return torch.empty(0, len(self.labels))
        return torch.cat(out)

    def rank(self, text: str) -> list[tuple[str, float]]:
        probs = self.probabilities([text])[0]
        order = torch.argsort(probs, descending=True)
        return [(self.labels[i], float(probs[i])) for i in order.tolist()]

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        self.model.encoder.config.save_pretrained(str(folder / "encoder"))
        self.tokenizer.save_pretrained(str(folder / "tokenizer"))
        # fp16 halves the artifact; weights are upcast to fp32 when loaded.
        state = {k: v.detach().to(torch.float16).contiguous() if v.is_floating_point() else v.contiguous()
                 for k, v in self.model.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        (folder / "intent_model.json").write_text(json.dumps(
            {"format": FORMAT, "labels": self.labels, "max_length": self.max_length}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> "IntentClassifier":
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        from agent.nlu.encoder import quiet_transformers

        quiet_transformers()

        meta = json.loads((folder / "intent_model.json").read_text())
        config = AutoConfig.from_pretrained(str(folder / "encoder"), local_files_only=True)
        encoder = AutoModel.from_config(config)
        model = IntentModel(encoder, len(meta["labels"]))
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(folder / "model.safetensors")).items()}
        model.load_state_dict(state)
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
        return cls(model, tokenizer, meta["labels"], meta["max_length"])
