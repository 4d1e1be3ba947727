#!/usr/bin/env bash
# One prepared GPU check: every CUDA code path of the project in one run of at most 8 minutes on one H200-class GPU.
#
#   bash bench/gpu_check.sh [--out DIR] [--rehearse-cpu]
#
# Writes DIR/report.md and DIR/report.json (default DIR: runs/gpu_check), and each step's log beside them. It prints
# the device, the driver and the torch build first, then runs six steps, each under its own time limit, so that a
# failure or a time-out is reported and the next step still runs:
#   1. cuda_cells  the notebooks' `#| cuda` cells and tests (nbdev_test --flags cuda on the notebooks that have them)
#   2. speed       bench/speed.py's CUDA rows, tiny and celeba256: fp32, bf16 autocast, channels_last, torch.compile
#                  (R1 in the step): images/s, peak memory, MFU against a bf16 matmul measured in the same run
#   3. train256    gansformer_nb_train --preset celeba256 for 2 minutes on the shared faces: losses finite, s/step
#   4. torchrun    2 processes on the one GPU: NCCL if it allows two ranks on one device, else gloo (reason stated)
#   5. attention   bipartite vs self-attention at 256² and 512²: time and memory, or where self-attention runs out
#   6. gansformer  the unconditional GANsformer's GPU preset (sprites128: the official --ganformer-default CLEVR
#                  settings, with the differences lesson 01c lists) for 150 steps with its binding report, then
#                  bench/speed.py's GANsformer rows
# Without CUDA each step says so in one line and the script exits 0 (CI runs it that way, so it cannot rot).
# --rehearse-cpu runs the same commands on the CPU, shortened (small sizes, seconds instead of minutes).
# The faces come from $GANSFORMER_NB_SHARED or ../shared (data/celebahq256); without them step 3 trains on synthetic faces.
set -uo pipefail
cd "$(dirname "$0")/.."
out=runs/gpu_check; mode=cuda
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --rehearse-cpu) mode=cpu; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "gpu_check: unknown option $1 (use --out DIR and/or --rehearse-cpu)" >&2; exit 2 ;;
  esac
done
py=${PYTHON:-python}
PATH="$(dirname "$(command -v "$py")"):$PATH"; export PATH PY="$py"   # nbdev_test, gansformer_nb_train: $py's own
mkdir -p "$out" || { echo "gpu_check: cannot create $out" >&2; exit 2; }
rm -rf "$out/train256" "$out/ddp" "$out/speed" "$out/attention" "$out/gansformer" "$out/speed_gansformer"       # this script's own outputs of an earlier run
: > "$out/steps.tsv"
shared=${GANSFORMER_NB_SHARED:-../shared}
has_cuda=$($py -c 'import torch; print(int(torch.cuda.is_available()))' 2>/dev/null || echo 0)
start=$(date +%s)

echo "== device, driver, torch build"
$py - > "$out/device.txt" 2>&1 <<'EOF'
import platform, subprocess, torch
print(f'torch {torch.__version__} | CUDA build {torch.version.cuda} | cuDNN '
      f'{torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None} | python {platform.python_version()}')
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print(f'device {p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}, '
          f'{torch.cuda.device_count()} device(s), NCCL {".".join(map(str, torch.cuda.nccl.version()))}')
    try:
        smi = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'], capture_output=True, text=True)
        print(f'driver {smi.stdout.strip() or smi.stderr.strip()}')
    except FileNotFoundError: print('driver: nvidia-smi not found')
else:
    print(f'no CUDA device: {platform.processor() or platform.machine()}')
EOF
cat "$out/device.txt"

# step NAME LIMIT_SECONDS COMMAND...: one step under its time limit; its status, time and last line go to steps.tsv
step() {
  local name=$1 limit=$2; shift 2
  if [ "$mode" = cuda ] && [ "$has_cuda" != 1 ]; then
    echo "step $name: skipped, no CUDA device on this machine"
    printf '%s\tskipped\t0\tno CUDA device on this machine\n' "$name" >> "$out/steps.tsv"; return 0
  fi
  echo "== step $name (limit ${limit} s)"
  local t0 rc status secs
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" > "$out/$name.log" 2>&1; rc=$?
  secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc -eq 0 ]; then status=passed; elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status="timed out"; else status="failed (exit $rc)"; fi
  tr '\r' '\n' < "$out/$name.log" | grep -v '^\s*$' | tail -n 12
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$secs" \
    "$(tr '\r' '\n' < "$out/$name.log" | grep -v '^\s*$' | tail -n 1 | tr '\t' ' ' | cut -c1-300)" >> "$out/steps.tsv"
  echo "step $name: $status in ${secs} s"
}

if [ "$mode" = cuda ]; then
  dev=cuda; minutes=2; train_size=(); ddp_steps=30; att_sizes=(256 512); att_limit=15; speed_extra=()
  gan_args=(--preset sprites128 --max-steps 150 --report-samples 64); gan_speed=()
  limits=(95 95 155 45 30 60)                      # 480 s at most, the start-up included in each
else   # the rehearsal: the same commands on the CPU, shortened
  dev=cpu; minutes=0.3; train_size=(--img-size 64 --batch-size 2); ddp_steps=4; att_sizes=(32 64); att_limit=30
  speed_extra=(--compile-backend aot_eager); limits=(240 300 120 120 120 180)
  gan_args=(--preset sprites --max-steps 20 --report-samples 16); gan_speed=(--quick)
fi
data_args=(--data-root "$shared/data/celebahq256")
[ -d "$shared/data/celebahq256/train" ] || data_args=(--data synthetic)

# 1. the notebooks' #| cuda cells (on the CPU rehearsal: the same notebooks without them)
cuda_nbs=$(grep -l '^ *"#| cuda' nbs/*.ipynb | tr '\n' ' ')
flags=(--flags cuda); [ "$mode" = cpu ] && flags=()
step cuda_cells "${limits[0]}" bash -c 'for nb in $0; do echo "-- $nb"; nbdev_test "${@}" --path "$nb" || exit 1; done; echo "ran: $0"' \
  "$cuda_nbs" "${flags[@]}"

# 2. the training step in every precision / memory format / compilation
step speed "${limits[1]}" $py bench/speed.py --only cuda --device $dev --out "$out/speed" "${speed_extra[@]}"

# 3. celeba256 for a few minutes on the faces: every logged loss finite
cat > "$out/check_losses.py" <<'EOF'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
losses = [r for r in rows if 'loss_G' in r]
bad = [(r['step'], k) for r in losses for k, v in r.items() if k.startswith(('loss', 'R1', 'D_')) and not math.isfinite(v)]
last = losses[-1]
per_step = last['images'] / last['step']                                     # images per step (all processes)
print(f"train256: {last['step']} steps, {per_step / last['images_per_s']:.3f} s per step ({last['images_per_s']:.2f} images/s); "
      "last losses: " + ', '.join(f'{k} {v:.4g}' for k, v in last.items() if k.startswith(('loss', 'R1')))
      + f"; non-finite: {bad or 'none'}")
sys.exit(1 if bad else 0)
EOF
step train256 "${limits[2]}" bash -c '
  gansformer_nb_train --preset celeba256 "${@:4}" --device "$1" --minutes "$2" --workers 4 --log-interval 5 \
    --save-interval 100000 --out-dir "$3/train256" || exit 1
  "$PY" "$3/check_losses.py" "$3/train256/metrics.jsonl"' _ "$dev" "$minutes" "$out" "${train_size[@]}" "${data_args[@]}"

# 4. two processes on the one device: NCCL first; NCCL refuses two ranks on one GPU, then gloo, with the reason
step torchrun "${limits[3]}" bash -c '
  run() { OMP_NUM_THREADS=1 "$PY" -m torch.distributed.run --nproc_per_node=2 -m gansformer_nb.cli --preset tiny \
          --data synthetic --img-size 32 --batch-size 4 --workers 0 --max-steps "$2" --device "$1" --out-dir "$3"; }
  if [ "$1" = cuda ]; then
    if run cuda "$2" "$3/ddp/nccl" > "$3/ddp_nccl.log" 2>&1; then echo "torchrun: 2 ranks on one GPU with NCCL: passed"; exit 0; fi
    reason=$(grep -m1 -iE "nccl|duplicate|error" "$3/ddp_nccl.log" | cut -c1-240)
    echo "torchrun: NCCL failed with 2 ranks on one GPU ($reason); trying gloo"
    GANSFORMER_NB_DIST_BACKEND=gloo run cuda "$2" "$3/ddp/gloo" && echo "torchrun: 2 ranks on one GPU with gloo (NCCL: $reason): passed"
  else
    run cpu "$2" "$3/ddp/gloo" && echo "torchrun: 2 ranks on the CPU with gloo: passed"
  fi' _ "$dev" "$ddp_steps" "$out"

# 5. attention at sizes where self-attention runs out of memory or time
step attention "${limits[4]}" $py bench/attention.py --device $dev --sizes "${att_sizes[@]}" --flash-max "${att_sizes[-1]}" \
  --repeats 3 --case-seconds $att_limit --out "$out/attention"

# 6. the unconditional GANsformer: its GPU preset briefly, with the binding report, then its step's speed
step gansformer "${limits[5]}" bash -c '
  gansformer_nb_train "${@:4}" --device "$1" --log-interval 10 --out-dir "$2/gansformer" || exit 1
  "$PY" bench/speed.py --only gansformer --device "$1" --out "$2/speed_gansformer" $3' _ "$dev" "$out" "${gan_speed[*]}" "${gan_args[@]}"

# the report: markdown and JSON of the same numbers
$py - "$out" "$mode" "$(( $(date +%s) - start ))" <<'EOF'
import json, sys
from pathlib import Path
out, mode, total = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
steps = [dict(zip(('step', 'status', 'seconds', 'last_line'), l.rstrip('\n').split('\t', 3)))
         for l in (out / 'steps.tsv').read_text().splitlines() if l.strip()]
load = lambda p: json.loads(p.read_text()) if p.exists() else None
report = dict(mode='CPU rehearsal' if mode == 'cpu' else 'CUDA', device=(out / 'device.txt').read_text().strip().splitlines(),
              total_seconds=total, steps=steps, speed=load(out / 'speed/speed_cuda.json'),
              attention=load(out / 'attention/attention.json'))
(out / 'report.json').write_text(json.dumps(report, indent=1))
md = [f'# GPU check ({report["mode"]})', '', *[f'- {l}' for l in report['device']], f'- total wall time: {total} s', '',
      '| step | status | seconds | last line |', '|---|---|---|---|']
md += [f'| {s["step"]} | {s["status"]} | {s["seconds"]} | {s["last_line"].replace("|", "/")} |' for s in steps]
for name in ('speed', 'attention'):
    log = out / f'{name}.log'
    if log.exists():
        lines = log.read_text().splitlines()
        if not any(l.startswith('|') for l in lines):                     # no table (a time-out): the rows it printed
            lines = [l.strip() for l in lines if l.startswith(('  cuda ', '  cpu ', 'flash ', 'simplex ', 'duplex '))]
        for l in lines:
            if l.startswith('###'): md += ['', l, '']
            elif l.startswith(('bfloat16', 'float32')): md += ['', l]
            elif l.startswith(('|', 'cuda ', 'cpu ', 'flash ', 'simplex ', 'duplex ')): md.append(l)
(out / 'report.md').write_text('\n'.join(md) + '\n')
print(f'\nwrote {out / "report.md"} and {out / "report.json"} ({total} s)')
EOF
exit 0
