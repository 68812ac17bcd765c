"""Prediction of an in-memory volume: a numpy array or an xarray.DataArray in, the same kind out."""

from __future__ import annotations

import numpy as np

from seisfuse.errors import SeisfuseError
from seisfuse.geometry import VOLUME_DIMS, canonical_dims
from seisfuse.infer.predictor import Predictor
from seisfuse.infer.volume import Settings, output_dtype, predict_rows, to_output, with_class_probabilities


def predict_array(predictor: Predictor, volume, settings: Settings, var: str = "prediction"):
    """volume: a numpy array of (inline, crossline, sample) or (trace, sample), or a DataArray
    with those dims in any order (by name; segysak's and MDIO's names too: iline, xline, twt,
    depth, time...); returns the prediction of the same kind, shape and dim order (with
    output="probabilities", a leading class axis)."""
    is_xr = hasattr(volume, "dims") and hasattr(volume, "coords")  # an xarray.DataArray
    if is_xr:
        names = canonical_dims(volume.dims, where="the DataArray given to predict")
        order = [names.index(d) for d in VOLUME_DIMS[len(names)]]  # the caller's axes in seisfuse's order
        values = np.asarray(volume.values).transpose(order)
    else:
        values = np.asarray(volume)
    if np.iscomplexobj(values) or not np.issubdtype(values.dtype, np.number):
        raise SeisfuseError(f"amplitudes of dtype {values.dtype} cannot be predicted", fix="give real numbers")
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
            out[row:row + len(rows)] = to_output(rows, predictor, settings)

    predict_rows(predictor, cube, 0, cube.shape[0], write, settings)
    result = (out[:, 0] if per_class else out[0]) if values.ndim == 2 else out
    if not is_xr:
        return result
    back = np.argsort(order)  # seisfuse's order -> the caller's
    result = result.transpose([0, *(1 + back)]) if per_class else result.transpose(back)
    if per_class:
        return _class_dataarray(volume, result, var)
    return volume.copy(data=result).rename(var)


def _class_dataarray(volume, probabilities: np.ndarray, name: str):
    """(class, *volume dims) probabilities as a DataArray with the volume's coordinates."""
    import xarray as xr  # only for DataArray input, where xarray is already loaded

    return xr.DataArray(probabilities, dims=("class", *volume.dims),
                        coords={**volume.coords, "class": np.arange(len(probabilities))}, name=name)
