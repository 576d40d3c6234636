"""anxin package."""
