"""English: built-in entities with spaCy's rule-based Matcher."""
