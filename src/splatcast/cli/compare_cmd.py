"""``splatcast compare``: rendering fidelity (PSNR, SSIM) of scene B against scene A over an orbit fitted to A."""

from __future__ import annotations

import json

from splatcast.errors import SplatcastError

HELP = "PSNR / SSIM of scene B rendered against scene A over an orbit of views fitted to A"


def add_arguments(parser) -> None:
    parser.add_argument("reference", help="reference scene A (file, folder or 'default')")
    parser.add_argument("test", help="scene B to compare with A")
    parser.add_argument("--views", type=int, default=8, help="number of orbit views (default 8)")
    parser.add_argument("--width", type=int, default=256, help="image width (default 256)")
    parser.add_argument("--height", type=int, default=None, help="image height (default: width)")
    parser.add_argument("--up", default="auto", help="up axis of A for the orbit: auto, +z, -y, ... or x,y,z")
    parser.add_argument("--background", default="0,0,0", metavar="R,G,B", help="background colour in [0, 1]")
    parser.add_argument("--json", action="store_true", help="print machine-readable results (inf PSNR -> null)")


def run(args) -> int:
    from splatcast.cli.render_cmd import load_scene, parse_triple, parse_up
    from splatcast.render.camera import orbit_cameras
    from splatcast.render.metrics import fidelity_psnr, json_number

    height = args.height or args.width
    if args.views < 1:
        raise SplatcastError(f"--views {args.views} must be >= 1")
    if args.width < 3 or height < 3 or args.width * height > 16_000_000:
        raise SplatcastError(f"image size {args.width}x{height} must be between 3x3 and 16 Mpixel")
    background = parse_triple(args.background, "background")
    a = load_scene(args.reference)
    b = load_scene(args.test)
    cams = orbit_cameras(a, args.views, args.width, height, up=parse_up(args.up))
    res = fidelity_psnr(a, b, cameras=cams, background=background)
    if args.json:
        out = {
            "psnr": json_number(res["psnr"]),
            "ssim": res["ssim"],
            "views": res["views"],
            "per_view_psnr": [json_number(v) for v in res["per_view_psnr"]],
            "width": args.width,
            "height": height,
        }
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"psnr {res['psnr']:.3f} dB  ssim {res['ssim']:.5f}  views {res['views']}")
    return 0
