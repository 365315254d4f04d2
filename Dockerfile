FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# A throwaway key for this step only: without one, settings would generate var/secret_key into the image.
RUN SECRET_KEY=collectstatic-only DJANGO_SETTINGS_MODULE=webapp.settings python manage.py collectstatic --noinput -v 0
EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "16"]
