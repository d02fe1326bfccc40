"""One FAQ entry: the questions it answers and the answer it gives, as stored, served and edited."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,127}$")
ANSWER_KEYS = ("text", "buttons", "image", "links")


@dataclass
class FAQEntry:
    id: str
    questions: list[str]
    answer: dict  # Rasa response shape: text, optional buttons [{title, payload}], image, links
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    response: str | None = None  # Rasa retrieval intents answer with a domain response (utter_faq/ask_x)

    @property
    def group(self) -> str:
        """The retrieval intent this entry belongs to: `faq` for faq.yml, the parent for `chitchat/ask_x`."""
        return self.id.split("/")[0] if "/" in self.id else "faq"

    @property
    def key(self) -> str:
        """Rasa's intent_response_key."""
        return self.id if "/" in self.id else f"faq/{self.id}"

    def to_dict(self) -> dict:
        out = {"id": self.id, "questions": list(self.questions), "answer": dict(self.answer)}
        if self.tags:
            out["tags"] = list(self.tags)
        if self.language:
            out["language"] = self.language
        if self.response:
            out["response"] = self.response
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FAQEntry:
        return cls(
            str(data["id"]),
            [str(q) for q in data["questions"]],
            dict(data.get("answer") or {}),
            [str(t) for t in data.get("tags") or []],
            data.get("language"),
            data.get("response"),
        )


def entry_problems(data: object) -> list[str]:
    """What is wrong with an entry given as plain data (from the CLI or the HTTP API), in words a user
    can act on; empty when it is valid."""
    if not isinstance(data, dict):
        return ["an FAQ entry must be a JSON object with id, questions and answer"]
    problems = [
        f"unknown key '{k}' (allowed: id, questions, answer, tags, language)"
        for k in data
        if k not in ("id", "questions", "answer", "tags", "language")
    ]
    if not isinstance(data.get("id"), str) or not ID_PATTERN.match(data["id"]):
        problems.append("'id' must be a name of letters, digits, _ . / - (at most 128 characters)")
    questions = data.get("questions")
    if not isinstance(questions, list) or not questions or not all(isinstance(q, str) and q.strip() for q in questions):
        problems.append("'questions' must be a non-empty list of non-empty texts")
    answer = data.get("answer")
    if isinstance(answer, str):
        answer = {"text": answer}
    if not isinstance(answer, dict) or not (isinstance(answer.get("text"), str) and answer["text"].strip()):
        problems.append("'answer' must be a text, or a mapping with a non-empty 'text'")
    else:
        problems += [
            f"unknown key '{k}' in answer (allowed: {', '.join(ANSWER_KEYS)})" for k in answer if k not in ANSWER_KEYS
        ]
        buttons = answer.get("buttons", [])
        if not isinstance(buttons, list) or not all(
            isinstance(b, dict) and isinstance(b.get("title"), str) for b in buttons
        ):
            problems.append("answer 'buttons' must be a list of {title, payload}")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append("'tags' must be a list of texts")
    if data.get("language") is not None and not isinstance(data.get("language"), str):
        problems.append("'language' must be a language code such as en or zh")
    return problems


def entry_from_plain(data: dict) -> FAQEntry:
    """An entry from validated plain data (see entry_problems)."""
    answer = data["answer"] if isinstance(data["answer"], dict) else {"text": data["answer"]}
    return FAQEntry(
        data["id"],
        [q.strip() for q in data["questions"]],
        dict(answer),
        list(data.get("tags", [])),
        data.get("language"),
    )
