"""One model reader: a catalog entry, a Hugging Face config.json or a GGUF header -> the same ModelSpec."""
