"""Prediction of an in-memory volume: a numpy array or an xarray.DataArray in, the same kind out."""

from __future__ import annotations

import numpy as np

from seisfuse.errors import SeisfuseError
from seisfuse.infer.predictor import Predictor
from seisfuse.infer.volume import Settings, finish, output_dtype, predict_rows, with_class_probabilities


def predict_array(predictor: Predictor, volume, settings: Settings, var: str = "prediction"):
    """volume: (inline, crossline, sample) or (trace, sample), as numpy or xarray; returns the
    prediction of the same kind and shape (with output="probabilities", a leading class axis)."""
    is_xr = hasattr(volume, "dims") and hasattr(volume, "coords")  # an xarray.DataArray
    values = np.asarray(volume.values if is_xr else volume)
    cube = values[None] if values.ndim == 2 else values  # a section is a one-inline volume
    if cube.ndim != 3:
        raise SeisfuseError(f"a volume of shape {values.shape} is neither (inline, crossline, sample) nor "
                            "(trace, sample)", fix="give a 2D section or a 3D volume")
    per_class = with_class_probabilities(predictor, settings)
    out = np.zeros((predictor.classes, *cube.shape) if per_class else cube.shape,
                   np.float32 if per_class else output_dtype(predictor, settings))

    def write(row, rows):  # rows: (n, C, crossline, sample) blended probabilities
        if per_class:
            out[:, row:row + len(rows)] = rows.swapaxes(0, 1)
        else:
            out[row:row + len(rows)] = finish(rows, predictor, settings)

    predict_rows(predictor, cube, 0, cube.shape[0], write, settings)
    result = (out[:, 0] if per_class else out[0]) if values.ndim == 2 else out
    if not is_xr:
        return result
    if per_class:
        return _class_dataarray(volume, result, var)
    return volume.copy(data=result).rename(var)


def _class_dataarray(volume, probabilities: np.ndarray, name: str):
    """(class, *volume dims) probabilities as a DataArray with the volume's coordinates."""
    import xarray as xr  # only for DataArray input, where xarray is already loaded

    return xr.DataArray(probabilities, dims=("class", *volume.dims),
                        coords={**volume.coords, "class": np.arange(len(probabilities))}, name=name)
