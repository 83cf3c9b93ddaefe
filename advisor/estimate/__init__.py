"""Pure estimators: weights, KV cache, runtime memory, placement and speed."""
