"""Fine-tuning: LoRA SFT on documents or chat transcripts (the optional `aflab[train]` extra)."""
