"""Inference engines (llama.cpp, MLX, vLLM): which devices and file types each runs, and its command line."""
