# The production image: one image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HUIKE_NO_VENV=1 \
    DJANGO_SETTINGS_MODULE=crm.settings.production

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static files are built into the image; whitenoise serves them. The key is a build-time placeholder only.
RUN SECRET_KEY=build-only ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

RUN useradd --create-home huike && mkdir -p /app/var && chown -R huike /app/var
USER huike
EXPOSE 8000
CMD ["gunicorn", "crm.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
