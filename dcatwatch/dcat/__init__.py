"""DCAT-AP(-SE): parsing, the model, vocabularies, agency identity and classification."""
