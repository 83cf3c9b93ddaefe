"""Presentation: result objects -> table, JSON envelope, CSV or Markdown, through one emitter."""
