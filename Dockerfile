# The platform's binaries in one image: `trader` (all services in one process,
# client commands) and one binary per service (compose.yml runs each in its own
# container). The builder uses the toolchain CI tests with; the workspace needs
# Rust >= 1.89 (rust-version in Cargo.toml: async-nats 0.51), and the lockfile
# (format 4) cargo >= 1.78. Release profile: no debug info (README "Shipping").
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
      -p trader -p market-data-service -p strategy-service -p risk-service \
      -p execution-service -p portfolio-service -p backtest-service -p analytics-service \
      -p monitor-service -p gateway-service -p notify-service -p regime-service

# Same Debian release as the builder (glibc).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/trader /src/target/release/market-data \
     /src/target/release/strategy /src/target/release/risk /src/target/release/execution \
     /src/target/release/portfolio /src/target/release/backtest /src/target/release/analytics \
     /src/target/release/monitor \
     /src/target/release/gateway \
     /src/target/release/notify \
     /src/target/release/regime \
     /usr/local/bin/
COPY testdata /srv/testdata
ENV TRADER_DATA_DIR=/data
ENTRYPOINT ["trader"]
# compose.yml names the binary and its arguments for each container.
CMD ["--help"]
