"""The catalog loader: catalog/*.yaml (shipped and the user's) -> validated facts (advisor.specs.facts.Catalog)."""
