"""Does the Grad-CAM heat fall on the face, or is it a flat wash? Numbers for a trained run.

For a study's run (default: the demo study's latest, built with ``wbsdesk --workspace W
demo``), every architecture's Grad-CAM (mean of its fold models, as the Screening view
shows it) is read on

* the astronaut photo of scikit-image (``skimage.data.astronaut()``), aligned by MTCNN as
  in screening;
* a newly drawn synthetic demo face (not in the study), aligned the same way;
* ``--crops`` of the study's own stored model crops (median over them).

Each map reads the layer the app chooses for the input size (the last block at 224 px; an
8 x 8 earlier stage with LayerCAM weights at the demo's 64 px, see
:func:`wbsdesk.ml.explain.cam_map`); for the study crops the last block's classic Grad-CAM
is measured beside it (``last_block``), for contrast.

Per map: the share of the heat mass inside the face region of the aligned crop (the
ellipse inscribed in the template face box, :func:`wbsdesk.core.heatmaps.face_mask`)
against that region's share of the area, their ratio (lift), the map's SD (max-scaled) and
normalised entropy, and the feature-map size with its coarseness warning. Two reference
maps frame the numbers: a constant map (a flat wash: SD 0, entropy 1, lift 1) and a
centred Gaussian blob (what a map that only prefers the middle of the crop gives).

Prints ONE JSON line (``--pretty`` for a readable table on stderr).

    python benchmarks/gradcam_focus.py --workspace /tmp/wscam [--study demo] [--crops 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from wbsdesk.core.heatmaps import heat_focus
from wbsdesk.services.face_jobs import MODEL_CROP_FORMAT
from wbsdesk.services.prediction import predict_photo
from wbsdesk.services.screening_heatmap import gradcam_of_crop, load_arch_models
from wbsdesk.services.studies import load_study
from wbsdesk.services.training import get_run
from wbsdesk.services.workspace import open_workspace

log = logging.getLogger("gradcam_focus")


def _rounded(focus: Any) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in focus.to_dict().items()}


def _focus_row(info: Any) -> dict[str, Any]:
    return {"arch": info.arch, "folds": info.folds, "feature_map": list(info.feature_map),
            "layer": info.layer, "method": info.method,
            "input_px": info.input_px, "coarse_warning": info.warning,
            **_rounded(info.focus)}


def _median(values: list[Any]) -> float | None:
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    return round(float(np.nanmedian(v)), 3) if np.isfinite(v).any() else None


def _references(px: int) -> dict[str, dict[str, float]]:
    yy, xx = np.mgrid[0:px, 0:px]
    c = (px - 1) / 2
    blob = np.exp(-((xx - c) ** 2 + (yy - c) ** 2) / (2 * (0.25 * px) ** 2))
    return {name: _rounded(heat_focus(heat))
            for name, heat in (("constant", np.ones((px, px))), ("centred_blob", blob))}


def _last_block_heat(models: list[Any], crop: Image.Image) -> np.ndarray:
    """Classic Grad-CAM at the last block, mean over the fold models (for contrast)."""
    from wbsdesk.ml.data import preprocess
    from wbsdesk.ml.explain import cam_map
    from wbsdesk.ml.registry import arch_spec

    maps = []
    for fm in models:
        x = preprocess(crop, size=fm.input_px, mean=fm.config["normalize_mean"],
                       std=fm.config["normalize_std"])
        maps.append(cam_map(fm.model, x, layer=arch_spec(fm.arch).cam_layer,
                            method="Grad-CAM")[0])
    return np.mean(maps, axis=0)


def _new_photos(folder: Path) -> dict[str, Path]:
    from skimage import data

    from wbsdesk.services.synthetic_faces import draw_subject

    photos = {}
    astronaut = folder / "astronaut.png"
    Image.fromarray(data.astronaut()).save(astronaut)
    photos["astronaut"] = astronaut
    _, face = draw_subject("wbs", np.random.default_rng(4), sex="F", age_months=40)
    demo = folder / "demo-face.jpg"
    face.image.save(demo, "JPEG", quality=92)
    photos["demo_face"] = demo
    return photos


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--study", default="demo")
    ap.add_argument("--run", default=None)
    ap.add_argument("--crops", type=int, default=20, help="stored crops of the study to read")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--pretty", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")

    result: dict[str, Any] = {"study": args.study}
    with open_workspace(args.workspace) as ws, tempfile.TemporaryDirectory() as tmp:
        st = load_study(ws, args.study)
        row = get_run(ws, st, args.run)
        result["run"] = row.name
        target = st.protocol.groups.label(st.protocol.groups.positive)
        photos: dict[str, list[dict[str, Any]]] = {}
        for name, path in _new_photos(Path(tmp)).items():
            rows = []
            for arch in row.archs:
                pred = predict_photo(ws, args.study, path, run=row.name,
                                     heatmap=Path(tmp) / f"{name}-{arch}.png",
                                     heatmap_arch=arch, device=args.device)
                r = _focus_row(pred.gradcam)
                r["probability"] = round(pred.per_arch[arch], 3)
                r["ood_warnings"] = pred.warnings
                rows.append(r)
            photos[name] = rows
        result["photos"] = photos

        crops = ws.store.crops(st.id)
        chosen = [c for c in crops.values() if c.model_crop_path][: args.crops]
        stored: dict[str, Any] = {}
        for arch in row.archs:
            _, models = load_arch_models(ws, args.study, row.name, arch, device=args.device)
            per, last = [], []
            for c in chosen:
                with Image.open(ws.root / c.model_crop_path, formats=[MODEL_CROP_FORMAT]) as im:
                    crop = im.convert("RGB")
                _, info = gradcam_of_crop(models, crop, run=row.name, target=target)
                per.append(_focus_row(info))
                last.append(_rounded(heat_focus(_last_block_heat(models, crop))))
            keys = ("mass_share", "area_share", "lift", "sd", "entropy")
            stored[arch] = {"n": len(per), "feature_map": per[0]["feature_map"] if per else None,
                            "layer": per[0]["layer"] if per else None,
                            "method": per[0]["method"] if per else None,
                            "flat": int(sum(p["flat"] for p in per)),
                            "empty": int(sum(p["mass_share"] is None for p in per)),
                            **{f"median_{k}": _median([p[k] for p in per]) for k in keys},
                            "last_block": {"median_lift": _median([p["lift"] for p in last]),
                                           "empty": int(sum(p["mass_share"] is None
                                                            for p in last))}}
        result["study_crops"] = stored
        px = int(st.protocol.training.input_px)
        result["references"] = _references(px)
    if args.pretty:
        for name, rows in result["photos"].items():
            for r in rows:
                log.warning("%-10s %-13s %s %s map %s  P=%.3f  heat on face %s of heat / %.0f%% "
                            "of area (lift %s)  SD %.2f  entropy %s  flat=%s", name, r["arch"],
                            r["method"], r["layer"], "x".join(map(str, r["feature_map"])),
                            r["probability"],
                            r["mass_share"], 100 * r["area_share"], r["lift"], r["sd"],
                            r["entropy"], r["flat"])
        for arch, s in result["study_crops"].items():
            log.warning("study crops (n=%d) %-13s %s %s median: heat on face %s, lift %s, SD "
                        "%s, entropy %s; flat %d (empty %d); last block's Grad-CAM: lift %s "
                        "(empty %d)", s["n"], arch, s["method"], s["layer"],
                        s["median_mass_share"], s["median_lift"], s["median_sd"],
                        s["median_entropy"], s["flat"], s["empty"],
                        s["last_block"]["median_lift"], s["last_block"]["empty"])
        for name, f in result["references"].items():
            log.warning("reference %-12s heat on face %s, lift %s, SD %s, entropy %s", name,
                        f["mass_share"], f["lift"], f["sd"], f["entropy"])
    sys.stdout.write(json.dumps(result) + "\n")
    return result


if __name__ == "__main__":
    main()
