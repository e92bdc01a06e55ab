"""Small persistent key-value state (counters) in a flash file, or in memory for tests."""

import json
import os


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


class FileStore:
    """State in a JSON file, replaced atomically (write a temporary file, then rename)."""

    def __init__(self, path):
        self.path = path
        self.writes = 0

    def load(self):
        try:
            with open(self.path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

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
