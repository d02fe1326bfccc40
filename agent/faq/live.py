"""A served FAQ that follows the edit log: the trained bank plus every edit made since, applied in
log order. Callers run `catch_up` and `apply` on the thread that parses (the model thread), so a
search never sees a half-applied edit."""

from __future__ import annotations

from dataclasses import dataclass

from agent.bot.faq_entries import FAQEntry, entry_from_plain
from agent.faq.decision import FAQRouter
from agent.faq.edits import REMOVE, UPSERT, FAQEdit, FAQEditLog


@dataclass
class LiveFAQ:
    router: FAQRouter
    bot: str
    log: FAQEditLog
    seq: int = 0  # the last log entry applied

    def catch_up(self) -> int:
        """Apply the edits written since the last call (by the CLI or another server); how many."""
        edits = self.log.since(self.bot, self.seq)
        for edit in edits:
            self.apply(edit)
        return len(edits)

    def apply(self, edit: FAQEdit) -> None:
        if edit.seq <= self.seq:
            return
        if edit.op == UPSERT and edit.entry is not None:
            self.router.bank.upsert(entry_from_plain(edit.entry))
        elif edit.op == REMOVE:
            self.router.bank.remove(edit.entry_id)
        self.seq = edit.seq

    def entries(self) -> list[FAQEntry]:
        return self.router.bank.entries()


def merged_entries(trained: list[FAQEntry], edits: list[FAQEdit]) -> list[FAQEntry]:
    """The entries a server would serve, without loading any model (for `agent faq list`)."""
    current = {e.id: e for e in trained}
    for edit in edits:
        if edit.op == UPSERT and edit.entry is not None:
            current[edit.entry_id] = entry_from_plain(edit.entry)
        elif edit.op == REMOVE:
            current.pop(edit.entry_id, None)
    return list(current.values())
