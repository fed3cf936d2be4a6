"""The monotone display rule of docs/streaming.md: never replace what is on screen by a state of lower fidelity.

The encoder measures the fidelity of every state a client can reach and stores it in the index
(splatcast.codec.fidelity); a client shows a newly decoded state only if its recorded fidelity is strictly higher
than that of the state on screen (see offer), and holds the picture otherwise (it keeps decoding: the held state's
bytes are needed by the later ones). Files without the table (version 1, ``encode --fidelity off``) show every
state, as before.
"""

from __future__ import annotations


def has_fidelity(index) -> bool:
    return any(c.fidelity_full for layer in index.layers for c in layer.chunks)


class MonotoneDisplay:
    def __init__(self, index):
        self.enabled = has_fidelity(index)
        self.shown_db: float | None = None

    def offer(self, fidelity_db: float | None) -> bool:
        """Whether to show a state of this recorded fidelity (None: not measured); remembers what is shown."""
        if not self.enabled:
            return True
        # strictly better: codes are floor(100 dB), so a higher code is a higher measured fidelity, while an equal
        # code may hide a drop of up to 0.01 dB
        if fidelity_db is None or (self.shown_db is not None and fidelity_db <= self.shown_db):
            return False
        self.shown_db = fidelity_db
        return True
