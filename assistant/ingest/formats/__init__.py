"""One reader per file format; each returns a LoadedDoc or raises LoadError."""
