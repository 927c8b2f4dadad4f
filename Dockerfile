# syntax=docker/dockerfile:1
# Helio's image: the dashboard built with Node, then Helio on Ray's own image (the same
# Ray, Python and CUDA-free base the KubeRay manifests and cluster.yaml expect).

FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM rayproject/ray:2.60.0-py311
# bubblewrap: the sandbox for users' script jobs (cluster/sandbox.py).
USER root
RUN apt-get update && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*
USER ray
WORKDIR /home/ray/helio
# The locked dependency set first (a layer that changes only with requirements.lock);
# torch's CPU build comes from PyTorch's index.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
        --extra-index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY cluster/ cluster/
COPY deployments/ deployments/
COPY actors/ actors/
COPY pipelines/ pipelines/
RUN pip install --no-cache-dir --no-deps -e .
COPY --from=dashboard /src/frontend/dist frontend/dist
ENV HELIO_FRONTEND_DIR=/home/ray/helio/frontend/dist \
    HELIO_DATA_ROOT=/data \
    HELIO_HOST=0.0.0.0
# Serve (API + dashboard), Ray dashboard, Prometheus metrics.
EXPOSE 8000 8265 8080
CMD ["helio", "up"]
