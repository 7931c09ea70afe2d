"""From files to sections: load (any encoding/format) → clean (web chrome) → split (公文 structure)."""
