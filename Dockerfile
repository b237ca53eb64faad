# The ppocoder image: the sandbox service (`deno task sandbox serve`), its L7 proxy (haproxy) and
# `deno task bench` / `deno task merge`, for deploy/kubernetes/. It installs exactly what CI
# installs, by running .ci/setup itself: bubblewrap, every toolchain the sandbox runs, haproxy,
# python3-venv, Deno (from npm) and the npm packages of deno.json.
#
#   docker build -t ppocoder .
#   docker run --privileged -p 8080:8080 ppocoder     # bubblewrap needs namespaces: see
#                                                     # deploy/kubernetes/sandbox.yaml
FROM debian:bookworm-slim
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /app
COPY . .
RUN bash .ci/setup && rm -rf /var/lib/apt/lists/*
EXPOSE 8080
CMD ["deno", "task", "sandbox", "serve", "--hostname=0.0.0.0", "--port=8080"]
