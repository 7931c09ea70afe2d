"""Chinese text helpers: script conversion, sentences, tokens, word segmentation."""
