#!/usr/bin/env bash
# Set up DiceLens in ./.venv on a fresh Debian/Ubuntu machine (or any machine with Python >= 3.11).
#
#   bash scripts/setup.sh          # the application
#   bash scripts/setup.sh test     # the application and the test extra (reference libraries)
#
# What it does, in order:
#   1. the Qt system libraries, and poppler-utils for the tests (apt-get, only those missing;
#      root or sudo needed only then);
#   2. a virtual environment .venv that can see the system's packages, so a torch that is
#      already installed (a CUDA build, say) is used and never replaced;
#   3. torch only if none is importable: the CPU build where there is no NVIDIA GPU;
#   4. DiceLens itself (editable) with its dependencies, plus the test extra when asked.
# Set PYTHON to choose the interpreter (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
want=${1:-app}
python=${PYTHON:-python3}

system_packages=(libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfreetype6 libfontconfig1 libdbus-1-3
                 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0)
# The report tests read the PDFs back with pdftotext / pdfinfo / pdfimages.
[[ $want == test ]] && system_packages+=(poppler-utils)
if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for package in "${system_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: DiceLens needs Python >= 3.11; '$python' is $("$python" --version 2>&1)." >&2
  echo "setup: install python3.11 (or newer) and run: PYTHON=python3.11 bash scripts/setup.sh $want" >&2
  exit 2
fi

if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv --system-site-packages .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)

if .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "setup: using the installed torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: NVIDIA GPU found: installing torch with CUDA"
  "${pip[@]}" install -q torch
else
  echo "setup: no GPU found: installing the CPU build torch==2.13.0"
  "${pip[@]}" install -q torch==2.13.0
fi

extra=""
[[ $want == test ]] && extra="[test]"
"${pip[@]}" install -q -e ".${extra}"
echo "setup: done ($(.venv/bin/python -c 'import torch, PySide6; print("torch", torch.__version__, "| PySide6", PySide6.__version__)'))"
