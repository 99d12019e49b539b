"""Writing export files: a new file each time, never over an existing one.

Two ways in, for the two callers:

- ``write_new_file(path, text, force=...)``: the CLI's ``--trace FILE``, where
  the user named the file and ``--force`` allows replacing it;
- ``write_fresh_file(folder, stem, suffix, text)``: the app's export key,
  which picks ``stem.json``, then ``stem-1.json``, ``stem-2.json``... in a
  folder, whichever does not exist yet.

Both open the file in mode ``"x"`` (create, fail if it exists), so a file
that appears between a check and the write is still never replaced. Errors
are ``OSError``s whose ``strerror`` says what is wrong in words, so a caller
can show ``f"{exc.strerror}: {path}"``.
"""

from __future__ import annotations

import errno
import os
from typing import Iterator

FRESH_NAME_TRIES = 100  # stem, stem-1 ... stem-99


def write_new_file(path: str, text: str, *, force: bool = False) -> str:
    """Write ``text`` to ``path`` and return the file's absolute path.

    Raises ``FileExistsError`` if ``path`` exists, unless ``force`` is true;
    ``FileNotFoundError`` if its folder does not exist; ``IsADirectoryError``
    if ``path`` is a folder."""
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "this is a folder; give a file name", path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"the folder {folder!r} does not exist", path)
    with open(path, "w" if force else "x", encoding="utf-8") as f:
        f.write(text)
    return os.path.abspath(path)


def candidate_names(stem: str, suffix: str, tries: int = FRESH_NAME_TRIES) -> Iterator[str]:
    """``stem+suffix``, then ``stem-1+suffix``, ``stem-2+suffix``..."""
    for n in range(tries):
        yield f"{stem}{f'-{n}' if n else ''}{suffix}"


def fresh_path(folder: str, stem: str, suffix: str, tries: int = FRESH_NAME_TRIES) -> str:
    """The first candidate name in ``folder`` that does not exist yet.

    Only a preview: another program may take the name before it is written;
    ``write_fresh_file`` is the safe way to write."""
    for name in candidate_names(stem, suffix, tries):
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            return path
    raise _names_taken(folder, stem, suffix, tries)


def write_fresh_file(folder: str, stem: str, suffix: str, text: str, *, tries: int = FRESH_NAME_TRIES) -> str:
    """Write ``text`` to the first free candidate name in ``folder``; return
    the file's absolute path. Never replaces a file.

    Raises ``FileNotFoundError`` if ``folder`` does not exist and
    ``FileExistsError`` if every candidate name is taken."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "the folder does not exist", folder)
    for name in candidate_names(stem, suffix, tries):
        try:
            return write_new_file(os.path.join(folder, name), text)
        except (FileExistsError, IsADirectoryError):
            continue
    raise _names_taken(folder, stem, suffix, tries)


def _names_taken(folder: str, stem: str, suffix: str, tries: int) -> FileExistsError:
    return FileExistsError(
        errno.EEXIST, f"{stem}{suffix} and its {tries - 1} numbered variants all exist",
        os.path.join(folder, stem + suffix),
    )
