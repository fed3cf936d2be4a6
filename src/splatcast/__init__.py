"""splatcast: fine-granular scalable coding and low-latency streaming of 3D Gaussian Splatting scenes.

Parts of the system, one sub-package each:

- ``scene``    the in-memory Gaussian model and the file formats people ship (PLY, SOG, SPZ, .splat)
- ``render``   cameras, a CPU tile rasterizer (numba) with a slow reference, image metrics
- ``train``    a CPU 3DGS trainer that captures quality layers at PSNR plateaus
- ``codec``    quality layers, inter-layer prediction, vector quantization, entropy coding, container
- ``dash``     MPD packaging of the container's operating points
- ``net``      HTTP / WebRTC server and the adaptive client
- ``evaluate`` rate-distortion, decode-time and progressive-quality experiments
- ``cli``      the ``splatcast`` command, one module per sub-command
"""

__version__ = "0.1.0"
