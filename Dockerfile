# The service's production image: gunicorn (web), python scheduler.py (expiry) and the operator
# commands (flask --app app ...) all run from it; compose.yaml wires them to PostgreSQL and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ORDERS_INSTANCE_DIR=/var/lib/order-service

WORKDIR /app
COPY setup.cfg pyproject.toml README.md app.py scheduler.py ./
COPY ordering ./ordering
COPY projections ./projections
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app order-service \
    && mkdir -p "$ORDERS_INSTANCE_DIR" \
    && chown order-service "$ORDERS_INSTANCE_DIR"

USER order-service
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]
CMD ["gunicorn", "-c", "python:ordering.http.gunicorn_config", "--bind", "0.0.0.0:8000", \
     "--workers", "4", "--threads", "4", "app:app"]
