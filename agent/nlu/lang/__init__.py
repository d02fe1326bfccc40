"""Per-language built-in entity extraction, one package per language code as in spaCy's
`spacy/lang/<code>/`: `en` (spaCy's Matcher) and `zh` (regular expressions). The shared parts and
the dispatch by language are in agent.nlu.builtin_entities."""
