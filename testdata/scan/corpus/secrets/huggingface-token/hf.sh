huggingface-cli login --token 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

huggingface-cli login --token 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
