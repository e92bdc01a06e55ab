"""Small persistent key-value state (counters) in a flash file, or in memory for tests."""

import json
import os

from gridshare_meter.auth import StateUnreadable


class MemoryStore:
    """State kept in RAM; `reboot` is simulated by building a new meter on the same store."""

    def __init__(self, data=None):
        self.data = dict(data or {})
        self.writes = 0

    def load(self):
        return dict(self.data)

    def save(self, data):
        self.data = dict(data)
        self.writes += 1


def _listed(path):
    """Whether a file is there, from its folder's listing (an error opening it is not taken for
    a missing file: the WebAssembly port's errno for that differs from errno.ENOENT)."""
    folder, slash, name = path.rpartition("/")
    try:
        return name in os.listdir(folder or slash or ".")  # "/meter_state.json": the root
    except OSError:
        raise StateUnreadable(path + ": its folder cannot be listed") from None


class FileStore:
    """State in a JSON file, replaced atomically (write a temporary file, then rename).

    FAT cannot rename over a file, so there the old file is removed first: a power cut
    between the two steps leaves only the temporary file, which `load` then reads. A file that
    is there but unreadable raises StateUnreadable: counters read as zero would let every
    command the meter ever obeyed be replayed.
    """

    def __init__(self, path):
        self.path = path
        self.writes = 0

    def load(self):
        """The saved state; {} on a board that never saved one."""
        tmp = self._read(self.path + ".tmp")  # complete only if the last save was cut short
        if tmp is not None:  # newer than the file it was about to replace
            if not _listed(self.path):  # cut between remove and rename: finish the rename,
                os.rename(self.path + ".tmp", self.path)  # or the next save would truncate
            return tmp  # the only copy
        data = self._read(self.path)
        return {} if data is None else data

    def _read(self, path):
        """The dict in `path`, None if there is no such file; StateUnreadable otherwise."""
        if not _listed(path):
            return None
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            if path.endswith(".tmp"):
                return None  # cut short while being written: the file it replaces still holds
            raise StateUnreadable(path + ": cannot be read as JSON") from None
        if not isinstance(data, dict):
            raise StateUnreadable(path + ": not a JSON object")
        return data

    def save(self, data):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(data))
        try:
            os.rename(tmp, self.path)
        except OSError:  # FAT cannot rename over an existing file
            os.remove(self.path)
            os.rename(tmp, self.path)
        self.writes += 1
