# syntax=docker/dockerfile:1.7
# orgpulse: a release build in a Rust image, then only the binary in a slim runtime image
# (templates and assets are compiled in). BuildKit cache mounts keep the crate registry and
# build artefacts between builds, so a code change does not refetch or rebuild dependencies.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin orgpulse \
    && install -m 0755 target/release/orgpulse /usr/local/bin/orgpulse

FROM debian:bookworm-slim
# Not pinned: ca-certificates must follow Debian's security updates, not a frozen version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/orgpulse --create-home --shell /usr/sbin/nologin orgpulse
COPY --from=build /usr/local/bin/orgpulse /usr/local/bin/orgpulse
USER 10001:10001
WORKDIR /var/lib/orgpulse
# The embedded store lives here when no MongoDB URL is given (docker run -v …:/var/lib/orgpulse).
ENV ROCKET_ADDRESS=0.0.0.0 \
    ROCKET_PORT=8000 \
    ROCKET_IP_HEADER=X-Real-IP \
    ORGPULSE_DATABASE_URL=sqlite:///var/lib/orgpulse/orgpulse.db
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 CMD ["orgpulse", "healthcheck"]
ENTRYPOINT ["orgpulse"]
CMD ["serve"]
