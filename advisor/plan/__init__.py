"""What a person asks: recommend (models for a machine), compare (machines), plan (hardware for a model)."""
