"""The constants of the 3DGS image definition (docs/rendering.md), shared by every stage of the fast renderer and
by the trainer's backward pass; ``reference.py`` writes them out again on purpose (it shares no code)."""

TILE = 16  # screen tile side in pixels (binning and compositing)
NEAR_Z = 0.2  # view-space depth below which a Gaussian is culled
LOW_PASS = 0.3  # px^2 added to the 2D covariance diagonal (anti-aliasing filter of the reference)
FOV_CLAMP = 1.3  # x/z, y/z clamped to this multiple of the half field of view for the Jacobian
MAX_MAHALANOBIS2 = 9.0  # a Gaussian reaches 3 sigma, no further
MIN_ALPHA = 1.0 / 255.0  # contributions below this are skipped
MAX_ALPHA = 0.99
MIN_TRANSMITTANCE = 1e-4  # a pixel stops once its transmittance would drop below this

# LLVM fast-math flags of the per-pixel loops (compositing and its backward pass): reassociation and fused
# multiply-adds make them ~12% faster and move a pixel by ~1e-16; "nnan" and "ninf" stay off, so every comparison
# keeps its IEEE meaning for NaN and infinity (the culling tests rely on it)
PIXEL_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
