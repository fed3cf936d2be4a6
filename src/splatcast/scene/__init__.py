"""The Gaussian scene model (``cloud``), the built-in default scene (``default``) and file formats (``formats``).

Owns: data layout and invariants of a scene in memory, reading and writing the files people ship.
Does not own: rendering (``splatcast.render``) or coding (``splatcast.codec``).
"""

from splatcast.scene.cloud import SH_C0, GaussianCloud, logit, sigmoid, sh_rest_count

__all__ = ["GaussianCloud", "SH_C0", "logit", "sigmoid", "sh_rest_count"]
