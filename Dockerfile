FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY grid_service grid_service
COPY geo geo
COPY sql sql
COPY config config
RUN pip install --no-cache-dir -e .
EXPOSE 8080
CMD ["grid-service", "serve", "--host", "0.0.0.0", "--port", "8080"]
