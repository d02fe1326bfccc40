"""Make confidences mean what they say: temperature scaling fitted on held-out data, and the
expected calibration error that shows whether it worked."""

from __future__ import annotations

import torch

PROBABILITY_FLOOR = 1e-12  # log(0) guard when probabilities are re-tempered


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The one scalar T minimising held-out negative log-likelihood of softmax(logits / T)
    (Guo et al., 2017): it changes no prediction, only how sure each one claims to be."""
    known = labels >= 0
    if int(known.sum()) < 2:
        return 1.0
    logits, labels = logits[known].detach().float(), labels[known]
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    opt.step(closure)
    t = float(log_t.detach().exp())
    return min(max(t, 0.05), 20.0)


def sharpen(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(log p / T): temperature scaling applied to probabilities that are already a mix."""
    if temperature == 1.0:
        return probs
    return torch.softmax(torch.log(probs.clamp_min(PROBABILITY_FLOOR)) / temperature, dim=-1)


def expected_calibration_error(confidences: torch.Tensor, correct: torch.Tensor, bins: int = 15) -> float:
    """Average gap between confidence and accuracy over equal-width confidence bins, weighted by size."""
    if len(confidences) == 0:
        return 0.0
    confidences = confidences.float()
    correct = correct.float()
    edges = torch.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (confidences > lo) & (confidences <= hi)
        if in_bin.any():
            ece += float(in_bin.float().mean()) * abs(float(confidences[in_bin].mean()) - float(correct[in_bin].mean()))
    return ece
