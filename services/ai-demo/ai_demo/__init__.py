"""The AI demo service: a chat chain whose every step is an OpenInference span in Phoenix."""
