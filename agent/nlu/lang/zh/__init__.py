"""Chinese: built-in entities with regular expressions, no tokenizer."""
