"""Training on CPU: quality layers as checkpoints of one 3DGS run, or derived from one finished model.

Owns: the analytic backward pass of the renderer (``backward``; the forward pass is ``splatcast.render``'s own),
the photometric loss with its gradient (``loss``), Adam (``adam``), adaptive density control (``densify``),
NeRF-synthetic datasets (``dataset``), the training loop (``trainer``), plateau picking for automatic layers
(``plateaus``) and layers from a finished model (``derive_layers``). Does not own: the renderer
(``splatcast.render``) or scene files (``splatcast.scene.formats``). See docs/training.md.
"""

from splatcast.train.dataset import Dataset, View, load_nerf_synthetic
from splatcast.train.derive_layers import derive_layers, finetune_layer
from splatcast.train.backward import Gradients, RasterState, rasterize_backward, rasterize_forward
from splatcast.train.loss import photometric_loss
from splatcast.train.plateaus import pick_layers
from splatcast.train.trainer import TrainConfig, Trainer, cloud_from_params, params_from_cloud

__all__ = [
    "Dataset",
    "Gradients",
    "RasterState",
    "TrainConfig",
    "Trainer",
    "View",
    "cloud_from_params",
    "derive_layers",
    "finetune_layer",
    "load_nerf_synthetic",
    "params_from_cloud",
    "photometric_loss",
    "pick_layers",
    "rasterize_backward",
    "rasterize_forward",
]
