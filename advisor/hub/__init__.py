"""Models on the Hugging Face Hub: a repo name -> its files' sizes, config.json and weight headers (range reads),
cached so a repo fetched once works offline. The only package that talks to the network; huggingface_hub is
imported here, and only when a command names a repo. Models are built by advisor.models (the one reader)."""
