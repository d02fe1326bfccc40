"""FAQ answers by retrieval: entries from faq.yml (and Rasa retrieval intents), embedded with a
sentence encoder into a FAISS index, editable while the bot serves."""
