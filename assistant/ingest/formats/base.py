"""What every format reader returns or raises."""
from __future__ import annotations

from dataclasses import dataclass

from ...errors import BiganError

PAGE_BREAK = "\f"
# Between the cells of a table row: whitespace, so a row reads and matches like the words it holds.
CELL_SEP = "\t"


class LoadError(BiganError):
    """One file could not be read; the message is one line in Chinese, with no path or traceback."""


@dataclass
class LoadedDoc:
    text: str  # lines joined by "\n"; pages of paged formats joined by PAGE_BREAK
    title: str = ""  # the title the format itself states, "" when it states none
