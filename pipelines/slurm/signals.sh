# Sourced by the SLURM templates. With `#SBATCH --signal=B:TERM@120`, SLURM sends SIGTERM to
# the batch shell 120 s before the time limit (and SIGKILL at it). Bash runs a trap only
# between commands, so `forward_term CMD...` runs CMD in the background and passes SIGTERM on:
# seisfuse stops cleanly (exit 143, nothing partial looks complete) and the same job
# resubmitted resumes where it stopped.
forward_term() {
    "$@" &
    local pid=$! status=0
    trap 'kill -TERM "$pid" 2>/dev/null' TERM
    wait "$pid" || status=$?
    if [ "$status" -gt 128 ] && kill -0 "$pid" 2>/dev/null; then  # the trap cut the wait short
        status=0
        wait "$pid" || status=$?
    fi
    trap - TERM
    return "$status"
}
