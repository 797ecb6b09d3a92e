# Keylink gateway image: a wheel built in one stage, installed into a slim runtime that runs
# as an unprivileged user. Configuration comes from a mounted YAML file (KEYLINK_CONFIG)
# and the environment; no secret is baked into the image.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY resolvers ./resolvers
COPY sources ./sources
COPY linkmap ./linkmap
COPY demo ./demo
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 keylink \
    && useradd --system --uid 10001 --gid keylink --home-dir /home/keylink --create-home keylink
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV PYTHONUNBUFFERED=1 \
    KEYLINK_CONFIG=/etc/keylink/keylink.yaml
WORKDIR /home/keylink
USER keylink:keylink
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["keylink"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
