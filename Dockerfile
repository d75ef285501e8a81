# The service as a package: dependencies in their own layers (rebuilt only when pyproject.toml
# changes), then the package itself, installed (not editable), run as a user without privileges.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
# Dependencies first: a layer that survives changes to the code (and to the README).
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip wheel --no-cache-dir -w /wheels/deps -r requirements.txt
COPY README.md ./
COPY grid_service grid_service
COPY geo geo
RUN pip wheel --no-cache-dir --no-deps -w /wheels/app .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 grid
# The dependencies' layer is reused while pyproject.toml is unchanged; only the package's follows.
COPY --from=build /wheels/deps /wheels/deps
RUN pip install --no-cache-dir --no-index /wheels/deps/*.whl && rm -rf /wheels/deps
COPY --from=build /wheels/app /wheels/app
RUN pip install --no-cache-dir --no-index --no-deps /wheels/app/*.whl && rm -rf /wheels/app
USER grid
WORKDIR /home/grid
EXPOSE 8080
CMD ["grid-service", "serve", "--host", "0.0.0.0", "--port", "8080"]
