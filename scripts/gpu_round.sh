#!/usr/bin/env bash
# One round of GPU training for the shipped models that a CPU cannot train (README, "How the
# GPU-trained models were made"), for a lent GPU machine that only sees what travels with the repo
# and returns a few files of at most 16 MiB:
#
#   scripts/gpu_round.sh prepare           # here: the carried folder .gpu/ (photos, BSDS500 maps, inits)
#   scripts/gpu_round.sh train OUT MINUTES # there: the trainers side by side, exports split into OUT
#   scripts/gpu_round.sh collect DIR [TO]  # here: join DIR's parts into TO (default runs/gpu-round)
#   scripts/gpu_round.sh smoke [TO]        # here: the whole round for a few seconds on the CPU
#
# CARRY (default .gpu) names the carried folder, RUNS where train keeps its runs (default /tmp/gpu-round).
#
# The jobs: inpaint-photos continued on the hole's squared error at batch 32 (what its card says it
# needs for +2 dB), and a natural-photo sketch model (Canny, 2 px lines) at batch 16 from scratch,
# with L1 200: between the CPU pilots' 100 (lines F1 0.82, 11.77 dB) and 400 (F1 0.71, 12.42 dB).
# Evaluate the exports here with the commands in their cards before shipping anything.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CARRY=${CARRY:-.gpu}
SHARED=../shared/datasets

prepare() {
    local photos=$SHARED/photos quality=${QUALITY:-80}
    rm -rf "$CARRY"
    $PY -m trainers.pack_photos --out "$CARRY/datasets/photos" --quality "$quality" \
        --data "$photos/imagenet_sample" --data "$photos/bsds500/train" --data "$photos/bsds500/val" \
        --data "$photos/set5" --data "$photos/set14" --data "$photos/urban100" \
        --data "$photos/sun_hays80" --data "$photos/debian_wallpapers" \
        --exclude "$photos/imagenet_sample_grayscale.txt" 2>/dev/null
    mkdir -p "$CARRY/datasets/edges/bsds500" "$CARRY/init"
    cp -r "$SHARED/edges/bsds500/train" "$SHARED/edges/bsds500/val" "$CARRY/datasets/edges/bsds500/"
    cp -r assets/models/inpaint-photos "$CARRY/init/"
    local code carried
    code=$(git ls-files -z | grep -zv '^assets/models/' | xargs -0 du -cb | tail -n 1 | cut -f1)
    carried=$(du -sb "$CARRY" | cut -f1)
    echo "carried folder $CARRY: $((carried / 1000000)) MB (BSDS500 test is not in it); tracked files" \
        "without assets/models: $((code / 1000000)) MB. The shipped models need not travel (the round" \
        "reads its inits from $CARRY/init): keep them out of a machine's copy if it has a size limit."
}

train() {
    local out=$1 minutes=$2 device=${DEVICE:-cuda} batch_scale=${BATCH_SCALE:-1} workers=${WORKERS:-6}
    local data=$CARRY/datasets runs=${RUNS:-/tmp/gpu-round} log
    rm -rf "$runs" && mkdir -p "$runs/exports" "$out"
    $PY -m trainers.inpaint --data "$data/photos" --init "$CARRY/init/inpaint-photos" \
        --ngf 32 --n-blocks 9 --batch $((32 / batch_scale)) --lr-g 1e-4 --ema-decay 0.999 \
        --lambda-adv 0 --lambda-feat 0 --lambda-l1-hole 0 --lambda-l2-hole 200 --lr-decay-iters 50% \
        --iters 1000000 --time-limit "$minutes" --workers "$workers" --device "$device" --no-progress \
        --out "$runs/inpaint" >"$runs/inpaint.log" 2>&1 &
    $PY -m trainers.pix2pix --data "$data/photos" --format edges --edges canny --edge-width 2 \
        --no-dropout --ngf 32 --ndf 64 --batch $((16 / batch_scale)) --lambda-l1 200 --lr-decay-iters 40% \
        --iters 1000000 --time-limit "$minutes" --workers "$workers" --device "$device" --no-progress \
        --out "$runs/sketch" >"$runs/sketch.log" 2>&1 &
    wait || true
    for job in inpaint sketch; do
        log=$runs/$job.log
        tail -n 5 "$log"
        $PY -m trainers.export "$runs/$job" -o "$runs/exports/$job" --fp16 >>"$log" 2>&1 ||
            echo "$job: no export (see its log)"
        cp "$log" "$runs/exports/" && cp "$runs/$job/run.json" "$runs/exports/$job.run.json" 2>/dev/null || true
        find "$runs/$job/samples" -name '*.png' 2>/dev/null | sort | tail -n 1 |
            xargs -r -I{} cp {} "$runs/exports/$job.last-samples.png"
    done
    tar -C "$runs" -cf - exports | split -b 15M - "$out/round.tar.part-"
    ls -l "$out"
}

collect() {
    local to=${2:-runs/gpu-round}
    rm -rf "$to" && mkdir -p "$to"
    cat "$1"/round.tar.part-* | tar -C "$to" -xf -
    ls "$to/exports"
}

smoke() {
    local parts
    parts=$(mktemp -d)
    [ -d "$CARRY/init" ] || prepare
    DEVICE=cpu BATCH_SCALE=16 WORKERS=0 RUNS=${RUNS:-/tmp/gpu-round-smoke} train "$parts" 0.1
    collect "$parts" "${1:-runs/gpu-round-smoke}"
    rm -rf "$parts"
}

"$@"
