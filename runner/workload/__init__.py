"""What a point runs: models and tokenizers (hub, random-init, tiny) and prompt sets."""
