#!/usr/bin/env bash
# The engine's GPU checks (issue 13, target 5), for a machine with a CUDA GPU and the project's
# packages installed: the engine benchmark on the GPU, the model-output benchmark on the GPU, and
# the engine tests with the CUDA ones (tests/dice_engine/test_cuda.py, skipped on machines without a GPU).
# Usage: bash scripts/gpu_checks.sh [RESULTS_FOLDER]   (default: gpu-results; one log per step there)
set -uo pipefail
results=${1:-gpu-results}
python=${PYTHON:-python3}
mkdir -p "$results"
export PYTHONUNBUFFERED=1
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$results/gpu.txt"
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())" \
    2>&1 | tee -a "$results/gpu.txt"
"$python" -m pytest -q -p no:cacheprovider tests/dice_engine/test_cuda.py tests/dice_engine/test_live.py \
    2>&1 | tee "$results/cuda-tests.txt" || status=1
"$python" bench/engine.py --device cuda --profile 2>&1 | tee "$results/engine.txt" || status=1
"$python" bench/probabilities.py --device cuda 2>&1 | tee "$results/probabilities.txt" || status=1
"$python" -m pytest -q -p no:cacheprovider tests/dice_engine 2>&1 | tee "$results/engine-tests.txt" || status=1
exit $status
