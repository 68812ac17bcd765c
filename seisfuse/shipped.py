"""The registry of shipped pretrained models: weights and model cards inside the package.

A model is two files in a registry folder: `NAME.pt` (a seisfuse checkpoint holding only the
model's weights, their config and normalisation) and `NAME.json`, its model card (what it
predicts, its input, the training data and recipe, its scores on held-out surveys beside a
classical baseline's, the compute it took, its limits, and the sha256 of `NAME.pt`). The
folders searched, first match of a name wins: those of $SEISFUSE_MODELS_DIR (separated like
PATH), then the package's own `seisfuse/models/zoo/`. Nothing is downloaded: a model is there
or it is not. Loading checks the weights against the card's sha256 first.

No torch here: `seisfuse models list` answers without loading a network.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from seisfuse.errors import SeisfuseError

ENV = "SEISFUSE_MODELS_DIR"
PACKAGE_DIR = Path(__file__).resolve().parent / "models" / "zoo"
CARD_FORMAT = "seisfuse-model-card-1"
REQUIRED = ("name", "description", "task", "input", "architecture", "weights", "training", "scores", "limits")
REINSTALL = "reinstall seisfuse (pip install --force-reinstall seisfuse), or package the model again"


def search_path() -> list[Path]:
    """The registry folders, in the order they are searched."""
    extra = [Path(p).expanduser() for p in os.environ.get(ENV, "").split(os.pathsep) if p.strip()]
    return [*extra, PACKAGE_DIR]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _read_card(path: Path) -> dict:
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SeisfuseError(f"unreadable model card ({exc})", where=str(path), fix=REINSTALL) from None
    missing = [k for k in REQUIRED if k not in card] if isinstance(card, dict) else list(REQUIRED)
    if missing or card.get("format") != CARD_FORMAT:
        raise SeisfuseError(f"not a seisfuse model card (format {card.get('format') if isinstance(card, dict) else '?'}"
                            f"{', missing ' + ', '.join(missing) if missing else ''})", where=str(path),
                            fix=REINSTALL)
    if card["name"] != path.stem:
        raise SeisfuseError(f"the card names model {card['name']!r}, its file {path.stem!r}", where=str(path),
                            fix=REINSTALL)
    return card


def available() -> list[dict]:
    """Every model found, each card with `card_path` added (a name found twice: the first)."""
    found: dict[str, dict] = {}
    for folder in search_path():
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if path.stem not in found:
                found[path.stem] = {**_read_card(path), "card_path": str(path)}
    return list(found.values())


def find(name: str) -> tuple[dict, Path]:
    """(card, weights path) of a shipped model, its weights checked against the card's sha256."""
    models = {card["name"]: card for card in available()}
    if name not in models:
        known = ", ".join(sorted(models)) or "none: no model is shipped in this installation yet"
        raise SeisfuseError(f"no shipped model {name!r}", where="--model",
                            fix=f"choose one of: {known} (`seisfuse models list`; folders searched: "
                                f"{', '.join(str(p) for p in search_path())})")
    card = models[name]
    weights = Path(card["card_path"]).with_name(card["weights"]["file"])
    if not weights.is_file():
        raise SeisfuseError(f"the weights of model {name!r} are missing", where=str(weights), fix=REINSTALL)
    found = sha256(weights)
    if found != card["weights"]["sha256"]:
        raise SeisfuseError(f"the weights of model {name!r} do not match their card (sha256 {found[:12]}..., the "
                            f"card says {card['weights']['sha256'][:12]}...): damaged or replaced", where=str(weights),
                            fix=REINSTALL)
    return card, weights


def summary(card: dict) -> str:
    """One line: what the model is, what it was trained on, how it scored, what it is not."""
    test, base = card["scores"].get("test", {}), card["scores"].get("baseline", {})
    arch = card["architecture"]
    scored = (f"; held-out AP {test['ap']:.3f}, ODS F1 {test['ods_f1']:.3f} (1 - coherence: AP {base['ap']:.3f}, "
              f"ODS F1 {base['ods_f1']:.3f})" if "ap" in test and "ap" in base else "")
    return (f"model {card['name']}: {card['description']} ({arch['summary']}, {arch['parameters'] / 1e6:.2f} M "
            f"parameters), trained on {card['training']['data']}{scored}. Not: {card['limits'][0]}")


def describe(card: dict) -> str:
    """A card as the lines `seisfuse models list` prints."""
    test, base = card["scores"].get("test", {}), card["scores"].get("baseline", {})
    tol = next((k for k in test if k.startswith("tolerance_f1@")), None)
    arch, weights, given = card["architecture"], card["weights"], card["input"]
    lines = [f"{card['name']}: {card['description']} ({card['task']}, label {card.get('label')})",
             f"  input    {given['dims']}D sections, tile {' x '.join(map(str, given['tile']))}, "
             f"{given['normalization']['method']} with the survey's own statistics",
             f"  model    {arch['summary']}; {arch['parameters'] / 1e6:.2f} M parameters, "
             f"{weights['bytes'] / 1e6:.2f} MB ({weights['dtype']})",
             f"  trained  {card['training']['data']}; {card['training']['steps']} steps of "
             f"{card['training']['batch_size']}"]
    if tol and base:
        lines.append(f"  scores   held-out surveys: AP {test['ap']:.3f}, ODS F1 {test['ods_f1']:.3f}, {tol} "
                     f"{test[tol]:.3f}; 1 - coherence: AP {base['ap']:.3f}, ODS F1 {base['ods_f1']:.3f}, {tol} "
                     f"{base[tol]:.3f}")
    return "\n".join([*lines, *(f"  limit    {limit}" for limit in card["limits"]), f"  card     {card['card_path']}"])
