"""``segcore sample-data``: write the deterministic synthetic H&E-like nuclei data set."""

from __future__ import annotations

import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "sample-data", help="write a synthetic H&E-like nuclei data set (images/ + masks/)",
        description="Write COUNT synthetic H&E-like images with exact nucleus masks (0/255) to DIR/images and "
                    "DIR/masks, plus DIR/classes.json. The same arguments always give byte-identical files.",
    )
    p.add_argument("dir", help="output folder (created if missing; files of the same name are replaced)")
    p.add_argument("--count", type=int, default=12, help="number of images (default 12)")
    p.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=run)


def run(args) -> int:
    from segcore.data.sample import write_sample_data

    start = time.perf_counter()
    samples = write_sample_data(Path(args.dir), count=args.count, size=args.size, seed=args.seed)
    print(f"wrote {len(samples)} images of {args.size}x{args.size} and their masks to {args.dir} "
          f"(images/, masks/, classes.json) in {time.perf_counter() - start:.1f} s")
    return 0
