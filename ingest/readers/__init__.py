"""Read paper records (title + abstract, plus metadata when present) from input files.

Formats are detected by content (the extension is only a hint), trying each registered format
in turn (see ``registry.py`` for the seam, one module per format):

* ``json_format``: JSON Lines (one object per line), or a ``.json`` file holding a list of objects;
* ``csv_format``: CSV / TSV with a header row;
* ``daily_page``: a scraped "daily papers" page saved as text.

``textfile`` opens files safely (regular files only) and finds their encoding; ``fields`` and
``metadata`` turn a record's fields into a ``Paper`` (the arXiv metadata snapshot's fields
included). Nothing here raises for bad input: see ``read_file`` and ``read_paths``.

Only the standard library is imported here (charset-normalizer only for non-UTF-8 files),
so importing this package is cheap.
"""

from __future__ import annotations

from .csv_format import CsvFormat
from .daily_page import DailyPageFormat
from .files import read_file, read_paths, stream_paths
from .json_format import JsonFormat
from .pdf_format import PdfFormat
from .registry import FORMATS, Format, NotThisFormat, Registry

__all__ = ["SUPPORTED", "EXTENSIONS", "FORMATS", "Format", "NotThisFormat", "Registry", "read_file", "read_paths",
           "stream_paths"]

# one line per format; tried in this order (the page format, a fallback, after all others)
FORMATS.register(JsonFormat())
FORMATS.register(CsvFormat())
FORMATS.register(DailyPageFormat())
FORMATS.register(PdfFormat())

#: Extensions picked up when a directory is expanded (files named explicitly are always read).
EXTENSIONS: frozenset[str] = FORMATS.extensions
#: One line saying what can be read (for error messages and the upload page).
SUPPORTED: str = FORMATS.supported()
