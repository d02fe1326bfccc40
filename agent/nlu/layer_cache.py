"""Run a BERT-style encoder in two halves, so the frozen bottom runs once per example, not once per epoch.

With the word embeddings and the lowest layers frozen, their output for a sentence never changes
during fine-tuning; computing it once and training only the upper layers on the cached states cuts
the forward pass of every epoch. Encoders that do not expose embeddings + a layer list (or whose
layers we cannot call on their own) simply train the ordinary way.
"""

from __future__ import annotations

import torch


def supports_split(encoder) -> bool:
    return (
        hasattr(encoder, "embeddings")
        and hasattr(getattr(encoder, "encoder", None), "layer")
        and hasattr(encoder, "_create_attention_masks")
    )


def _mask(encoder, attention_mask: torch.Tensor, hidden: torch.Tensor):
    return encoder._create_attention_masks(attention_mask, None, hidden, None, None)[0]


def bottom(encoder, input_ids: torch.Tensor, attention_mask: torch.Tensor, layers: int) -> torch.Tensor:
    hidden = encoder.embeddings(input_ids=input_ids)
    return run_layers(encoder, hidden, attention_mask, 0, layers)


def run_layers(encoder, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int, stop: int | None = None):
    mask = _mask(encoder, attention_mask, hidden)
    for layer in encoder.encoder.layer[start:stop]:
        out = layer(hidden, mask)
        hidden = out[0] if isinstance(out, tuple) else out
    return hidden


@torch.no_grad()
def split_matches_full(encoder, input_ids: torch.Tensor, attention_mask: torch.Tensor, layers: int) -> bool:
    """The two halves must reproduce the whole encoder exactly; anything else trains the ordinary way."""
    if not supports_split(encoder):
        return False
    was_training = encoder.training
    encoder.eval()
    try:
        full = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        split = run_layers(encoder, bottom(encoder, input_ids, attention_mask, layers), attention_mask, layers)
    except (TypeError, AttributeError, ValueError, RuntimeError):
        return False
    finally:
        encoder.train(was_training)
    keep = attention_mask.bool()
    return bool(torch.allclose(full[keep], split[keep], atol=1e-4))
