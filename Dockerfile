# The service as a package: dependencies in their own layer (rebuilt only when pyproject.toml
# changes), then the package itself, installed (not editable), run as a user without privileges.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
# Dependencies first: a layer that survives changes to the code.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip wheel --no-cache-dir -w /wheels -r requirements.txt
COPY grid_service grid_service
COPY geo geo
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels grid-service && rm -rf /wheels \
    && useradd --create-home --uid 10001 grid
USER grid
WORKDIR /home/grid
EXPOSE 8080
CMD ["grid-service", "serve", "--host", "0.0.0.0", "--port", "8080"]
