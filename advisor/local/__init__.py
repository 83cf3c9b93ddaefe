"""Models already on this machine (Ollama, LM Studio, llama.cpp and Hugging Face caches)."""
