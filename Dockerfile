FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Only what runs: tests and tools are in requirements-dev.txt.
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Collect the static files with the storage the services serve them with: the manifest storage writes
# staticfiles.json, which {% static %} needs to name the hashed files (without it the page answers 500).
ENV STATICFILES_BACKEND=whitenoise.storage.CompressedManifestStaticFilesStorage
# A throwaway key for this step only: without one, settings would generate var/secret_key into the image.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v 0
# Run as an unprivileged user. The only place it writes is its own model cache (the workers' MODEL_DIR),
# which fills from the database on first use; /app/models holds the committed artifacts that
# `manage.py sync_models` stores in the database.
RUN useradd --create-home --uid 10001 inkwell \
    && mkdir -p /var/cache/inkwell/models \
    && chown -R inkwell /var/cache/inkwell
USER inkwell
# uvicorn (webapp/web_server.py) on $HOST:$PORT with $WEB_WORKERS processes.
ENV HOST=0.0.0.0 PORT=8000 WEB_WORKERS=2
EXPOSE 8000
CMD ["python", "-m", "webapp.web_server"]
