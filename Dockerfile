# One image for every service: docker run IMAGE python -m services.<name> serve
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.8
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY shared ./shared
COPY services ./services
COPY reference ./reference
# The source is read-only to nobody: dedup's compiled kernels are cached here instead.
ENV PATH=/app/.venv/bin:$PATH SANGKIEN_HTTP_HOST=0.0.0.0 NUMBA_CACHE_DIR=/tmp/numba-cache
USER nobody
EXPOSE 8000
CMD ["python", "-m", "services.submission", "serve"]
