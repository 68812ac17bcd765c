"""Faults on your own survey: ingest a SEG-Y, predict faults with the shipped model, and
export the fault probability as a SEG-Y that carries your survey's own headers.

A small synthetic survey stands in for yours here (it also has the true faults, so the last
step can score the prediction); to run this on your data, set SURVEY to your file and drop
the `synth` line and the scoring at the end."""

import segyio

import seisfuse

SURVEY = "segy/survey.sgy"
seisfuse.synth("synthetic.zarr", shape=(8, 128, 128), seed=3, segy="segy", overwrite=True)

# 1. What is in the file: the trace keys and geometry seisfuse reads (check them first)
print(seisfuse.info(SURVEY)["geometry"])

# 2. Into a chunked store, every header kept; then the shipped `faults` model over every inline
#    section, written into the store and exported as SEG-Y beside it
seisfuse.ingest(SURVEY, "survey.zarr", overwrite=True)
seisfuse.predict("survey.zarr", model="faults", var="fault_probability", out="faults.sgy", overwrite=True)

# 3. The SEG-Y has the survey's text header and trace headers, trace by trace
with segyio.open(SURVEY, ignore_geometry=True) as src, segyio.open("faults.sgy", ignore_geometry=True) as out:
    assert out.tracecount == src.tracecount and out.text[0] == src.text[0]
    assert all(out.header[i] == src.header[i] for i in range(src.tracecount))
    probability = out.trace.raw[:]
print(f"fault probability {probability.min():.2f}..{probability.max():.2f}; "
      f"{(probability >= 0.5).mean():.1%} of the samples at 0.5 or above")

# 4. Only here: the synthetic's true faults, to score the prediction (your survey has none)
seisfuse.ingest("segy/fault.sgy", "survey.zarr", var="fault")
scores = seisfuse.evaluate("survey.zarr", pred="fault_probability", label="fault")
print(f"average precision {scores['ap']:.3f}, ODS F1 {scores['ods_f1']:.3f}, "
      f"F1 within 2 samples {scores['tolerance_f1@2']:.3f}")
