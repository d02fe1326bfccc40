"""Replay test stories against a trained bot: predict each action, then follow the story.

Like `rasa test`: at every action step the policies predict, the prediction is recorded against
the story, and the story's own action is executed so one mistake does not derail the rest (custom
actions are not executed). Story `active_loop` and `slot_was_set` steps are applied where the
executed actions did not already produce them. In e2e mode the NLU parses the `user:` text and a
wrong intent fails the story too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.bot.nlu_data import parse_annotated
from agent.bot.stories import ANY_VALUE, ActionStep, ActiveLoopStep, SlotStep, StoryBlock, UserStep
from agent.core.actions.base import ActionContext
from agent.core.actions.builtin import ActionSessionStart, UnavailableAction
from agent.core.actions.registry import ActionRegistry
from agent.core.events import ActionExecuted, ActionExecutionRejected, ActiveLoop, SlotSet, UserUttered
from agent.core.slot_filling import extract_slots
from agent.core.tracker import ACTION_LISTEN, Tracker
from agent.core.training_data import StoryPath, expand_block, story_paths

SENTIMENT_SLOT = "sentiment"


@dataclass
class StepResult:
    kind: str  # "action" | "intent" | "slot" (the sentiment a story expects, in e2e)
    expected: str
    predicted: str
    line: int | None = None

    @property
    def correct(self) -> bool:
        return self.expected == self.predicted


@dataclass
class StoryResult:
    story: StoryPath
    steps: list[StepResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(s.correct for s in self.steps)


def paths_to_test(blocks: list[StoryBlock]) -> list[StoryPath]:
    """Test stories as `rasa test` reads them: one conversation per `or` alternative, checkpoints joined."""
    return [
        *story_paths([b for b in blocks if b.kind == "story"]),
        *(p for b in blocks if b.kind != "story" for p in expand_block(b)),
    ]


async def evaluate_stories(agent, blocks: list[StoryBlock], e2e: bool) -> list[StoryResult]:
    return [await evaluate_story(agent, path, e2e) for path in paths_to_test(blocks)]


async def evaluate_story(agent, story: StoryPath, e2e: bool) -> StoryResult:
    result = StoryResult(story)
    domain = agent.domain
    tracker = Tracker(f"test: {story.name}", domain)
    registry = ActionRegistry(domain)  # as in `rasa test`, custom actions are not executed
    ctx = ActionContext(tracker, domain, agent.processor.nlg, "test", registry)
    tracker.append(ActionExecuted(name="action_session_start"))
    tracker.extend(await ActionSessionStart().run(ctx))

    async def expect_action(expected: str, line: int | None) -> None:
        if tracker.state.handoff.silent or tracker.state.paused:
            # the processor's silence rule: a person has the conversation, no policy runs
            result.steps.append(StepResult("action", expected, ACTION_LISTEN, line))
            tracker.append(ActionExecuted(name=ACTION_LISTEN))
            return
        predicted = agent.processor.policies.predict(tracker, domain).action
        if predicted == tracker.active_loop and expected != predicted:
            # as `rasa test` does: the form would have rejected this turn, so predict again
            tracker.append(ActionExecutionRejected(name=predicted))
            predicted = agent.processor.policies.predict(tracker, domain).action
        result.steps.append(StepResult("action", expected, predicted, line))
        if expected == ACTION_LISTEN:
            tracker.append(ActionExecuted(name=ACTION_LISTEN))
            return
        action = registry.get(expected)
        events = [] if isinstance(action, UnavailableAction) else await action.run(ctx)
        tracker.append(ActionExecuted(name=expected))
        tracker.extend(e for e in events if not isinstance(e, ActionExecutionRejected))

    for step in story.steps:
        if isinstance(step, UserStep):
            if tracker.state.latest_action != ACTION_LISTEN:
                await expect_action(ACTION_LISTEN, step.line)
            tracker.append(_user_event(agent, step, e2e, result))
            tracker.extend(extract_slots(tracker, domain))
            tracker.extend(agent.processor.mood_slots(tracker))  # e2e: the message's sentiment
        elif isinstance(step, ActionStep) and step.action:
            await expect_action(step.action, step.line)
        elif isinstance(step, ActiveLoopStep):
            if tracker.active_loop != step.name:
                tracker.append(ActiveLoop(name=step.name))
                if step.name is None:  # a form always clears requested_slot when it ends
                    tracker.append(SlotSet(name="requested_slot", value=None))
        elif isinstance(step, SlotStep):
            for name, value in step.slots.items():
                if e2e and name == SENTIMENT_SLOT and name in domain.slots:
                    # heard, not set: the story asserts how the customer's message sounded
                    actual = tracker.slots.get(name)
                    result.steps.append(StepResult("slot", f"{name}: {value}", f"{name}: {actual}", step.line))
                elif value != ANY_VALUE and tracker.slots.get(name) != value:
                    tracker.append(SlotSet(name=name, value=value))
    if result.steps and tracker.state.latest_action != ACTION_LISTEN:
        await expect_action(ACTION_LISTEN, None)
    return result


def _user_event(agent, step: UserStep, e2e: bool, result: StoryResult) -> UserUttered:
    gold_entities = [dict(e) for e in step.entities]
    text = None
    if step.text is not None:
        text, annotated = parse_annotated(step.text)
        gold_entities += [a.as_dict() for a in annotated]
    if e2e and text is not None:
        parsed = agent.interpreter.parse(text)
        predicted = parsed["intent"]["name"]
        if step.intent is not None:
            result.steps.append(StepResult("intent", step.intent.split("/")[0], predicted, step.line))
        intent = step.intent or predicted
        entities = parsed.get("entities", []) + [e for e in gold_entities if e not in parsed.get("entities", [])]
        extra = {k: v for k, v in parsed.items() if k in ("response_selector", "sentiment")}
    else:
        intent, entities, extra = step.intent, gold_entities, {}
    parse_data = {
        "text": text or f"/{intent}",
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": [{"name": intent, "confidence": 1.0}],
        "entities": entities,
        **extra,
    }
    return UserUttered(text=parse_data["text"], parse_data=parse_data, input_channel="test")
