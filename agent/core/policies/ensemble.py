"""Ask every policy, keep the most confident answer (priority breaks ties), else core fallback."""

from __future__ import annotations

from dataclasses import dataclass

from agent.bot.config import PolicyConfig
from agent.bot.domain import Domain
from agent.core.policies.base import Policy, PolicyPrediction
from agent.core.tracker import Tracker


@dataclass
class PolicyEnsemble:
    policies: list[Policy]
    config: PolicyConfig

    def predict(self, tracker: Tracker, domain: Domain, excluded: frozenset[str] = frozenset()) -> PolicyPrediction:
        best: PolicyPrediction | None = None
        best_priority = -1
        for policy in self.policies:
            pred = policy.predict(tracker, domain, excluded)
            if pred is None:
                continue
            if best is None or (pred.confidence, policy.priority) > (best.confidence, best_priority):
                best, best_priority = pred, policy.priority
        if best is None or best.confidence < self.config.core_fallback_threshold:
            return PolicyPrediction(
                self.config.core_fallback_action_name, self.config.core_fallback_threshold, "RulePolicy (core fallback)"
            )
        return best
