"""Write Rasa's `rasa test` report files for conversation tests."""

from __future__ import annotations

import json
from pathlib import Path

from agent.bot.stories import ActionStep, ActiveLoopStep, SlotStep, UserStep
from agent.core.tracker import ACTION_LISTEN
from agent.evaluation.stories import StoryResult


def classification_report(expected: list[str], predicted: list[str]) -> dict:
    """sklearn's per-label precision/recall/F1/support dict, as Rasa writes it."""
    from sklearn.metrics import classification_report as sk_report

    labels = sorted(set(expected) | set(predicted))
    return sk_report(expected, predicted, labels=labels, output_dict=True, zero_division=0)


def story_report(results: list[StoryResult]) -> dict:
    actions = [s for r in results for s in r.steps if s.kind == "action"]
    report = classification_report([s.expected for s in actions], [s.predicted for s in actions])
    correct = sum(r.passed for r in results)
    report["conversation_accuracy"] = {
        "accuracy": correct / len(results) if results else 0.0,
        "correct": correct,
        "with_warnings": 0,
        "total": len(results),
    }
    intents = [s for r in results for s in r.steps if s.kind == "intent"]
    if intents:
        report["intent_accuracy"] = {"accuracy": sum(s.correct for s in intents) / len(intents), "total": len(intents)}
    moods = [s for r in results for s in r.steps if s.kind == "slot"]
    if moods:
        report["sentiment_accuracy"] = {"accuracy": sum(s.correct for s in moods) / len(moods), "total": len(moods)}
    return report


def annotated_stories(results: list[StoryResult]) -> str:
    """The stories in Rasa's YAML, each wrong prediction marked `# predicted: x`, as Rasa does."""
    lines = ['version: "3.1"', "stories:"]
    for r in results:
        lines += [f"- story: {json.dumps(r.story.name, ensure_ascii=False)}", "  steps:"]
        lines += _annotated_steps(r)
    return "\n".join(lines) + "\n"


def _annotated_steps(r: StoryResult) -> list[str]:
    wrong = {(s.line, s.expected): s.predicted for s in r.steps if not s.correct}
    lines: list[str] = []
    for step in r.story.steps:
        if isinstance(step, UserStep):
            listen = wrong.get((step.line, ACTION_LISTEN))
            if listen:
                lines.append(f"  # predicted: {listen} instead of action_listen")
            if step.text is not None:
                lines += [f"  - user: {json.dumps(step.text, ensure_ascii=False)}", f"    intent: {step.intent}"]
            else:
                lines.append(f"  - intent: {step.intent}")
            predicted = wrong.get((step.line, (step.intent or "").split("/")[0]))
            if predicted:
                lines[-1] += f"  # predicted: {predicted}"
            lines += _entity_lines(step.entities)
        elif isinstance(step, ActionStep):
            predicted = wrong.get((step.line, step.action))
            lines.append(f"  - action: {step.action}" + (f"  # predicted: {predicted}" if predicted else ""))
        elif isinstance(step, ActiveLoopStep):
            lines.append(f"  - active_loop: {step.name or 'null'}")
        elif isinstance(step, SlotStep):
            lines.append("  - slot_was_set:")
            for k, v in step.slots.items():
                heard = wrong.get((step.line, f"{k}: {v}"))  # the sentiment the story expected
                lines.append(
                    f"    - {json.dumps({k: v}, ensure_ascii=False)}" + (f"  # predicted: {heard}" if heard else "")
                )
    end = wrong.get((None, ACTION_LISTEN))
    if end:
        lines.append(f"  # predicted: {end} instead of action_listen at the end")
    return lines


def _entity_lines(entities: list[dict]) -> list[str]:
    """A user step's entities as the story wrote them: `- name: value`, or the full form with a role
    or group (JSON flow style is YAML too, and quotes whatever needs it)."""
    if not entities:
        return []
    out = ["    entities:"]
    for e in entities:
        if set(e) <= {"entity", "value"} and "value" in e:
            out.append(
                f"    - {json.dumps(e['entity'], ensure_ascii=False)}: {json.dumps(e['value'], ensure_ascii=False)}"
            )
        elif set(e) == {"entity"}:
            out.append(f"    - {json.dumps(e['entity'], ensure_ascii=False)}")
        else:  # Rasa's form: the name keyed to its value, role and group beside it
            rest = {k: e[k] for k in ("role", "group") if k in e}
            out.append(f"    - {json.dumps({e['entity']: e.get('value'), **rest}, ensure_ascii=False)}")
    return out


def confusion_matrix_png(expected: list[str], predicted: list[str], path: Path, what: str = "action") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    labels = sorted(set(expected) | set(predicted))
    matrix = confusion_matrix(expected, predicted, labels=labels)
    size = max(6.0, 0.35 * len(labels) + 3)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel(f"predicted {what}")
    ax.set_ylabel(f"expected {what}")
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black",
                )
    ax.set_title(f"{what} confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_reports(results: list[StoryResult], out: Path, successes: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    report = story_report(results)
    (out / "story_report.json").write_text(json.dumps(report, indent=2))
    failed = [r for r in results if not r.passed]
    (out / "failed_test_stories.yml").write_text(
        annotated_stories(failed) if failed else "# None of the test stories failed - all good!\n"
    )
    if successes:
        (out / "successful_test_stories.yml").write_text(annotated_stories([r for r in results if r.passed]))
    actions = [s for r in results for s in r.steps if s.kind == "action"]
    if actions:
        confusion_matrix_png(
            [s.expected for s in actions], [s.predicted for s in actions], out / "story_confusion_matrix.png"
        )
    return report
