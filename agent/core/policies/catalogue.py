"""Which policies a bot trains, and how a model's policies are saved and loaded back.

Each policy writes its own folder of the model (`core/<name>/`); `core/policies.json` lists them in
order, so loading iterates what was trained instead of naming files.
"""

from __future__ import annotations

import json
from pathlib import Path

from agent.bot.config import AgentConfig
from agent.core.policies.base import Policy
from agent.core.policies.learned import LearnedPolicy
from agent.core.policies.memoization import MemoizationPolicy
from agent.core.policies.rule import RulePolicy

POLICY_TYPES: dict[str, type[Policy]] = {
    RulePolicy.name: RulePolicy,
    MemoizationPolicy.name: MemoizationPolicy,
    LearnedPolicy.name: LearnedPolicy,
}
INDEX_FILE = "policies.json"


def configured_policies(config: AgentConfig, has_stories: bool) -> list[Policy]:
    """Rules and memoization always (both are exact and cheap; a config without them would only
    lose stories it wrote), the learned policy where config.yml names TEDPolicy and stories exist."""
    pc = config.policy
    policies: list[Policy] = [
        RulePolicy(),
        MemoizationPolicy(pc.max_history, augmented="AugmentedMemoizationPolicy" in pc.policies),
    ]
    if "TEDPolicy" in pc.policies and has_stories:
        policies.append(LearnedPolicy(pc.max_history, pc.ted_epochs, seed=config.intent.random_seed))
    return policies


def save_policies(policies: list[Policy], folder: Path) -> None:
    for policy in policies:
        policy.save(folder / policy.name)
    (folder / INDEX_FILE).write_text(json.dumps({"policies": [p.name for p in policies]}), encoding="utf-8")


def load_policies(folder: Path) -> list[Policy]:
    names = json.loads((folder / INDEX_FILE).read_text(encoding="utf-8"))["policies"]
    loaded = [POLICY_TYPES[name].load(folder / name) for name in names]
    return [p for p in loaded if p is not None]
