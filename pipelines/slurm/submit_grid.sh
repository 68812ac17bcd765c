#!/bin/bash
# An experiment pipeline as SLURM jobs: data preparation, then a job array with one GPU job
# per experiment run (at most MAX_PARALLEL at once), then the report once every task has
# ended (runs that failed are reported, not retried). Resubmitting later only runs what is
# missing: finished runs are skipped and interrupted ones resume.
# Usage: pipelines/slurm/submit_grid.sh pipelines/ablation.yaml [MAX_PARALLEL]
set -euo pipefail
PIPELINE=${1:?usage: pipelines/slurm/submit_grid.sh PIPELINE.yaml [MAX_PARALLEL]}
MAX_PARALLEL=${2:-16}
HERE=$(cd "$(dirname "$0")" && pwd)
source .venv/bin/activate
N=$(seisfuse run "$PIPELINE" --list-cells -q | wc -l)
if [ "$N" -eq 0 ]; then
    echo "no experiment runs in $PIPELINE" >&2
    exit 2
fi
PREP=$(sbatch --parsable --job-name=seisfuse-prepare --cpus-per-task=8 --time=12:00:00 \
    --output=slurm-%j.out --wrap "source .venv/bin/activate && seisfuse run '$PIPELINE' --prepare")
CELLS=$(sbatch --parsable --dependency="afterok:$PREP" --array="0-$((N - 1))%$MAX_PARALLEL" \
    "$HERE/grid_cell.sbatch" "$PIPELINE")
REPORT=$(sbatch --parsable --dependency="afterany:$CELLS" --job-name=seisfuse-report --cpus-per-task=4 \
    --time=4:00:00 --output=slurm-%j.out --wrap "source .venv/bin/activate && seisfuse run '$PIPELINE' --no-retry")
echo "prepare job $PREP, $N experiment runs in array job $CELLS, report job $REPORT"
