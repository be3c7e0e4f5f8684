"""The real default model as the tests share it (each text encoded once per run, whichever process asks first),
and a wait for a background process to embed what is pending."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from papertide.config import Settings
from papertide.db import Database
from papertide.search.embedder import Embedder, text_hash
from papertide.search.semantic import model_name
from papertide.services.embeddings import embedding_status


class MemoEmbedder:
    """The real default model, remembering what it encoded: both backends embed the same papers once, and so do the
    xdist workers, through ``shared`` (a folder of this test run): one embeds, the others wait for it and read."""

    def __init__(self, inner: Embedder, shared: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimensions = inner.dimensions
        self.memory: dict[str, np.ndarray] = {}
        self.shared = shared

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memory]
        if missing:
            self._recall_or_encode(missing)
        return np.vstack([self.memory[t] for t in texts]) if texts else np.zeros((0, self.dimensions), np.float32)

    def _recall_or_encode(self, texts: list[str]) -> None:
        files = {text: self.shared / f"{text_hash(text)}.npy" for text in texts}
        with (self.shared / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            self.memory.update((text, np.load(file)) for text, file in files.items() if file.exists())
            missing = [text for text in texts if text not in self.memory]
            if missing:
                self.memory.update(zip(missing, self.inner.encode(missing), strict=True))
                for text in missing:
                    np.save(files[text], self.memory[text])


def wait_until_embedded(
    db: Database, settings: Settings, seconds: float, alive: Callable[[], None] = lambda: None
) -> None:
    """Poll until no paper waits for a vector; ``alive`` raises if the process doing the work has died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with db.read_session() as session:
            if embedding_status(session, model_name(settings)).pending == 0:
                return
        alive()
        time.sleep(0.2)
    pytest.fail(f"the background job did not embed the new papers within {seconds:.0f} s")
