#!/usr/bin/env bash
# Regenerate requirements.lock, which the image installs from (pip --require-hashes): every
# dependency of dcatwatch[postgresql], and the setuptools that builds dcatwatch, pinned with
# the hashes of every file PyPI has for that version, for Python 3.11 on any platform.
# Run it after changing pyproject.toml's dependencies (tests/test_deploy.py fails while the
# lock does not satisfy them); it needs uv (pip install uv), reads PyPI only.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "setuptools>=69" | uv pip compile --quiet --universal --python-version 3.11 \
    --generate-hashes --extra postgresql --index-url https://pypi.org/simple \
    --no-config --custom-compile-command scripts/lock.sh -o requirements.lock pyproject.toml -
