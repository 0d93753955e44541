"""Data formats beyond the column files: Rasa, Snips, doccano and Label Studio, read into the sentences
`slotfill.readers` returns, with what they hold beside them (synonyms, regex and lookup entries)."""
