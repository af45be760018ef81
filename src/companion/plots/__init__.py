"""One matplotlib style, fonts for both languages, and the theory-overlay helpers."""
